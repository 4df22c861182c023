// What a client's own SCRAM exchange proves: its ClientKey (recovered from the proof), with the verifier it was
// checked against. Enough to log in to PostgreSQL as that user with SCRAM — the same salt and iteration count
// come back from the server, whose pg_authid holds the same verifier — without the pooler ever holding the
// password (PgBouncer's SCRAM pass-through).
namespace Tuki.Pool.Pooler.Auth;

public sealed class ScramKeys(ScramSecret verifier, byte[] clientKey)
{
    public ScramSecret Verifier { get; } = verifier;
    public byte[] ClientKey { get; } = clientKey;

    public override string ToString() => "ScramKeys { <redacted> }";
}
