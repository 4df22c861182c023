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

    // What client-final's channel binding must be for each gs2 header we accept: "c=" base64(gs2-header) ",r=".
    private const string BindingPlain = "c=biws,r=", BindingYes = "c=eSws,r=";

    private string _clientFirstBare = "";
    private string _binding = "";
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
        _binding = clientFirst[0] == 'n' ? BindingPlain : BindingYes;
        _clientFirstBare = clientFirst.Substring(3);
        var clientNonce = ScramAttributes.Find(_clientFirstBare, 'r');
        if (clientNonce.IsEmpty)
            throw new ScramException("malformed SCRAM message (missing nonce)");

        _nonce = string.Concat(clientNonce, serverNonce ?? ScramAttributes.NewNonce());
        _serverFirst = $"r={_nonce},s={secret.SaltBase64},i={secret.Iterations}";
        return _serverFirst;
    }

    /// <summary>Client-final-message: c=, r=, p=. Returns server-final-message, or null when the proof is wrong.</summary>
    public string? HandleClientFinal(string clientFinal)
    {
        var proofAt = clientFinal.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofAt < 0)
            throw new ScramException("malformed SCRAM message (missing proof)");
        var withoutProof = clientFinal.AsSpan(0, proofAt);
        // channel-binding, then the nonce: exactly what the client-first promised.
        if (!withoutProof.StartsWith(_binding, StringComparison.Ordinal))
            throw new ScramException("malformed SCRAM message (unexpected channel binding data)");
        if (!ScramAttributes.Find(withoutProof, 'r').SequenceEqual(_nonce))
            throw new ScramException("malformed SCRAM message (nonce mismatch)");

        // Decoded into room for any proof it can hold (3 bytes per 4 characters): malformed is a protocol error,
        // well-formed but not 32 bytes is a wrong proof.
        var proofText = clientFinal.AsSpan(proofAt + 3);
        var clientProof = proofText.Length <= 64 ? stackalloc byte[48] : new byte[proofText.Length];
        if (!Convert.TryFromBase64Chars(proofText, clientProof, out var proofLength))
            throw new ScramException("malformed SCRAM message (bad proof encoding)");
        if (proofLength != 32 || isMock)
            return null;

        // AuthMessage = client-first-bare "," server-first "," client-final-without-proof, as UTF-8.
        var utf8 = Encoding.UTF8;
        var length = utf8.GetByteCount(_clientFirstBare) + 1 + utf8.GetByteCount(_serverFirst) + 1 + utf8.GetByteCount(withoutProof);
        var authMessage = length <= 1024 ? stackalloc byte[length] : new byte[length];
        var at = utf8.GetBytes(_clientFirstBare, authMessage);
        authMessage[at++] = (byte)',';
        at += utf8.GetBytes(_serverFirst, authMessage[at..]);
        authMessage[at++] = (byte)',';
        utf8.GetBytes(withoutProof, authMessage[at..]);

        Span<byte> signature = stackalloc byte[32];
        HmacSha256.HashData(secret.StoredKey, authMessage, signature);
        var clientKey = new byte[32];
        for (var i = 0; i < 32; i++)
            clientKey[i] = (byte)(clientProof[i] ^ signature[i]);
        Span<byte> storedKey = stackalloc byte[32];
        SHA256.HashData(clientKey, storedKey);
        if (!CryptographicOperations.FixedTimeEquals(storedKey, secret.StoredKey))
            return null;

        ClientKey = clientKey;
        HmacSha256.HashData(secret.ServerKey, authMessage, signature);
        return "v=" + Convert.ToBase64String(signature);
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
