// Server side of SCRAM-SHA-256 (the pooler authenticating a client), names as in RFC 5802 so the code can be
// checked against it. The proof is compared in constant time.
using System.Security.Cryptography;
using System.Text;

namespace Tuki.Pool.Pooler.Auth;

/// <summary>
/// One exchange: <see cref="HandleClientFirst"/> returns server-first-message, <see cref="HandleClientFinal"/>
/// verifies the ClientProof and returns server-final-message. A <c>null</c> secret runs a mock exchange (for
/// unknown users) that always fails at the proof, so user names cannot be probed.
/// </summary>
public sealed class ScramServer(ScramSecret secret, bool isMock = false, string? serverNonce = null)
{
    public const string Mechanism = "SCRAM-SHA-256";

    private string _clientFirstBare = "";
    private string _gs2Header = "";
    private string _serverFirst = "";
    private string _nonce = "";

    /// <summary>The ClientKey recovered from a valid proof (lets the pooler log in to PostgreSQL as the client).</summary>
    public byte[]? ClientKey { get; private set; }

    /// <summary>Client-first-message: gs2-header ("n,," or "y,,"; channel binding "p=" is refused), then n=, r=.</summary>
    public string HandleClientFirst(string clientFirst)
    {
        if (clientFirst.StartsWith("p=", StringComparison.Ordinal))
            throw new ScramException("channel binding is not supported by the pooler");
        // gs2-header = ("n" / "y") "," [authzid] ","; like PostgreSQL we accept no authorization identity.
        if (!(clientFirst.StartsWith("n,,", StringComparison.Ordinal) || clientFirst.StartsWith("y,,", StringComparison.Ordinal)))
            throw new ScramException(clientFirst.StartsWith("n,a=", StringComparison.Ordinal) || clientFirst.StartsWith("y,a=", StringComparison.Ordinal)
                ? "client uses authorization identity, which is not supported"
                : "malformed SCRAM message (bad gs2 header)");
        _gs2Header = clientFirst.Substring(0, 3);
        _clientFirstBare = clientFirst.Substring(3);
        var clientNonce = ScramAttributes.Get(_clientFirstBare, 'r');
        if (string.IsNullOrEmpty(clientNonce))
            throw new ScramException("malformed SCRAM message (missing nonce)");

        _nonce = clientNonce + (serverNonce ?? ScramAttributes.NewNonce());
        _serverFirst = $"r={_nonce},s={Convert.ToBase64String(secret.Salt)},i={secret.Iterations}";
        return _serverFirst;
    }

    /// <summary>Client-final-message: c=, r=, p=. Returns server-final-message, or null when the proof is wrong.</summary>
    public string? HandleClientFinal(string clientFinal)
    {
        var proofAt = clientFinal.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofAt < 0)
            throw new ScramException("malformed SCRAM message (missing proof)");
        var withoutProof = clientFinal.Substring(0, proofAt);
        // channel-binding = "c=" base64(gs2-header), then the nonce: exactly what the client-first promised.
        var expectedStart = $"c={Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes(_gs2Header))},r=";
        if (!withoutProof.StartsWith(expectedStart, StringComparison.Ordinal))
            throw new ScramException("malformed SCRAM message (unexpected channel binding data)");
        if (ScramAttributes.Get(withoutProof, 'r') != _nonce)
            throw new ScramException("malformed SCRAM message (nonce mismatch)");

        byte[] clientProof;
        try { clientProof = Convert.FromBase64String(clientFinal.Substring(proofAt + 3)); }
        catch (FormatException) { throw new ScramException("malformed SCRAM message (bad proof encoding)"); }
        if (clientProof.Length != 32 || isMock)
            return null;

        var authMessage = Encoding.UTF8.GetBytes($"{_clientFirstBare},{_serverFirst},{withoutProof}");
        var clientSignature = HMACSHA256.HashData(secret.StoredKey, authMessage);
        var clientKey = new byte[32];
        for (var i = 0; i < 32; i++)
            clientKey[i] = (byte)(clientProof[i] ^ clientSignature[i]);
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(clientKey), secret.StoredKey))
            return null;

        ClientKey = clientKey;
        var serverSignature = HMACSHA256.HashData(secret.ServerKey, authMessage);
        return $"v={Convert.ToBase64String(serverSignature)}";
    }

    /// <summary>A stable fake verifier for a user name that does not exist: same salt on every attempt (derived
    /// from a per-process key), so repeated probes cannot tell it from a real user.</summary>
    public static ScramServer Mock(string user, byte[] processKey)
    {
        var salt = HMACSHA256.HashData(processKey, Encoding.UTF8.GetBytes(user)).AsSpan(0, 16).ToArray();
        return new ScramServer(new ScramSecret(salt, ScramSecret.DefaultIterations, new byte[32], new byte[32]), isMock: true);
    }
}

public sealed class ScramException(string message) : Exception(message);
