// A SCRAM-SHA-256 verifier (RFC 5802/7677): salt, iterations, StoredKey and ServerKey; parsed from PostgreSQL's
// "SCRAM-SHA-256$iter:salt$StoredKey:ServerKey" form or derived from a plain password.
using System.Security.Cryptography;
using System.Text;

namespace Tuki.Pool.Pooler.Auth;

public sealed class ScramSecret
{
    public const int DefaultIterations = 4096;

    public byte[] Salt { get; }
    public int Iterations { get; }
    public byte[] StoredKey { get; }
    public byte[] ServerKey { get; }

    /// <summary>The salt as server-first-message carries it (base64), made once rather than at every login.</summary>
    public string SaltBase64 => _saltBase64 ??= Convert.ToBase64String(Salt);

    private string? _saltBase64;

    public ScramSecret(byte[] salt, int iterations, byte[] storedKey, byte[] serverKey)
    {
        Salt = salt;
        Iterations = iterations;
        StoredKey = storedKey;
        ServerKey = serverKey;
    }

    public static bool IsVerifier(string value) => value.StartsWith("SCRAM-SHA-256$", StringComparison.Ordinal);

    /// <summary>Parses <c>SCRAM-SHA-256$&lt;iterations&gt;:&lt;salt&gt;$&lt;StoredKey&gt;:&lt;ServerKey&gt;</c> (base64 parts).</summary>
    public static bool TryParse(string value, out ScramSecret? secret)
    {
        secret = null;
        if (!IsVerifier(value)) return false;
        var parts = value.Substring("SCRAM-SHA-256$".Length).Split('$');
        if (parts.Length != 2) return false;
        var iterSalt = parts[0].Split(':');
        var keys = parts[1].Split(':');
        if (iterSalt.Length != 2 || keys.Length != 2 || !int.TryParse(iterSalt[0], out var iterations) || iterations < 1)
            return false;
        try
        {
            var storedKey = Convert.FromBase64String(keys[0]);
            var serverKey = Convert.FromBase64String(keys[1]);
            if (storedKey.Length != 32 || serverKey.Length != 32) return false;
            secret = new ScramSecret(Convert.FromBase64String(iterSalt[1]), iterations, storedKey, serverKey);
            return true;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    /// <summary>Derives the verifier PostgreSQL would store for <paramref name="password"/> with this salt.</summary>
    public static ScramSecret FromPassword(string password, byte[] salt, int iterations = DefaultIterations)
    {
        var saltedPassword = SaltedPassword(password, salt, iterations);
        var clientKey = Hmac(saltedPassword, "Client Key");
        return new ScramSecret(salt, iterations, SHA256.HashData(clientKey), Hmac(saltedPassword, "Server Key"));
    }

    /// <summary>Hi(Normalize(password), salt, i) = PBKDF2-HMAC-SHA-256. SASLprep is not applied: PostgreSQL also
    /// falls back to the raw bytes when a password is not valid SASLprep input, and ASCII passwords are unchanged by it.</summary>
    public static byte[] SaltedPassword(string password, byte[] salt, int iterations) =>
        Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, iterations, HashAlgorithmName.SHA256, 32);

    public static byte[] Hmac(byte[] key, string text) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(text));

    public override string ToString() => "ScramSecret { <redacted> }";
}
