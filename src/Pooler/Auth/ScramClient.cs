// Client side of SCRAM-SHA-256 (the pooler logging in to PostgreSQL). No channel binding ("n,,").
using System.Security.Cryptography;
using System.Text;

namespace Tuki.Pool.Pooler.Auth;

/// <remarks><paramref name="clientNonce"/> and <paramref name="user"/> exist for the RFC 7677 test vector. With
/// <paramref name="keys"/> instead of a password, the proof is computed from a client's proven ClientKey.</remarks>
public sealed class ScramClient(string? password, SaltedPasswordCache? cache = null, string? clientNonce = null, string user = "", ScramKeys? keys = null)
{
    public static ScramClient FromKeys(ScramKeys keys) => new(null, keys: keys);

    private const string Gs2Header = "n,,";
    // PostgreSQL's scram_iterations tops out at INT_MAX, but nobody sane goes past a million; a peer asking for
    // more is trying to burn our CPU.
    private const int MaxIterations = 1_000_000;
    private readonly string _clientNonce = clientNonce ?? ScramAttributes.NewNonce();
    private string _clientFirstBare = "";
    private byte[] _serverKey = [];
    private string _authMessage = "";

    /// <summary>client-first-message. PostgreSQL takes the user from the startup packet, so n= is empty (as libpq).</summary>
    public string ClientFirst()
    {
        _clientFirstBare = $"n={user},r={_clientNonce}";
        return Gs2Header + _clientFirstBare;
    }

    /// <summary>Takes server-first-message and returns client-final-message with the ClientProof.</summary>
    public string ClientFinal(string serverFirst)
    {
        var nonce = ScramAttributes.Get(serverFirst, 'r');
        var saltText = ScramAttributes.Get(serverFirst, 's');
        var iterText = ScramAttributes.Get(serverFirst, 'i');
        if (nonce is null || !nonce.StartsWith(_clientNonce, StringComparison.Ordinal) || saltText is null
            || !int.TryParse(iterText, out var iterations) || iterations < 1 || iterations > MaxIterations)
            throw new ScramException("invalid SCRAM server-first-message from PostgreSQL");

        byte[] salt;
        try { salt = Convert.FromBase64String(saltText); }
        catch (FormatException) { throw new ScramException("invalid SCRAM salt from PostgreSQL (not base64)"); }
        byte[] clientKey, storedKey;
        if (keys is not null)
        {
            // The keys hold for the verifier they were proven against: PostgreSQL must offer its salt and count.
            if (!salt.AsSpan().SequenceEqual(keys.Verifier.Salt) || iterations != keys.Verifier.Iterations)
                throw new ScramException("PostgreSQL's SCRAM salt differs from the verifier the client was checked against (password changed?)");
            clientKey = keys.ClientKey;
            storedKey = keys.Verifier.StoredKey;
            _serverKey = keys.Verifier.ServerKey;
        }
        else
        {
            // PBKDF2 with 4096 iterations costs about a millisecond; servers reconnect often with the same salt.
            var saltedPassword = cache?.Get(password!, salt, iterations) ?? ScramSecret.SaltedPassword(password!, salt, iterations);
            clientKey = ScramSecret.Hmac(saltedPassword, "Client Key");
            storedKey = SHA256.HashData(clientKey);
            _serverKey = ScramSecret.Hmac(saltedPassword, "Server Key");
        }

        var withoutProof = $"c=biws,r={nonce}"; // biws = base64("n,,")
        _authMessage = $"{_clientFirstBare},{serverFirst},{withoutProof}";
        var clientSignature = HMACSHA256.HashData(storedKey, Encoding.UTF8.GetBytes(_authMessage));
        var proof = new byte[32];
        for (var i = 0; i < 32; i++)
            proof[i] = (byte)(clientKey[i] ^ clientSignature[i]);
        return $"{withoutProof},p={Convert.ToBase64String(proof)}";
    }

    /// <summary>True once the server proved it knows the ServerKey.</summary>
    public bool ServerVerified { get; private set; }

    /// <summary>Checks server-final-message: the server must prove it knows the ServerKey too.</summary>
    public void VerifyServerFinal(string serverFinal)
    {
        var error = ScramAttributes.Get(serverFinal, 'e');
        if (error is not null)
            throw new ScramException($"PostgreSQL rejected SCRAM authentication: {error}");
        var expected = HMACSHA256.HashData(_serverKey, Encoding.UTF8.GetBytes(_authMessage));
        var actualText = ScramAttributes.Get(serverFinal, 'v');
        if (actualText is null || !TryFromBase64(actualText, out var actual) || !CryptographicOperations.FixedTimeEquals(actual, expected))
            throw new ScramException("PostgreSQL's SCRAM server signature is invalid");
        ServerVerified = true;
    }

    private static bool TryFromBase64(string text, out byte[] bytes)
    {
        try { bytes = Convert.FromBase64String(text); return true; }
        catch (FormatException) { bytes = []; return false; }
    }
}

/// <summary>Remembers the last SaltedPassword per (salt, iterations) for one password (one per pool).</summary>
public sealed class SaltedPasswordCache
{
    private (string Password, string Salt, int Iterations, byte[] Value)? _last;

    public byte[] Get(string password, byte[] salt, int iterations)
    {
        var saltText = Convert.ToBase64String(salt);
        var last = _last;
        if (last is { } hit && hit.Password == password && hit.Salt == saltText && hit.Iterations == iterations)
            return hit.Value;
        var value = ScramSecret.SaltedPassword(password, salt, iterations);
        _last = (password, saltText, iterations, value);
        return value;
    }
}
