// PostgreSQL's md5 password scheme: "md5" + md5hex(md5hex(password + user) + salt).
using System.Security.Cryptography;
using System.Text;

namespace Tuki.Pool.Pooler.Auth;

public static class Md5Password
{
    /// <summary>True for a stored hash ("md5" + 32 hex digits), which stands in for the password.</summary>
    public static bool IsHash(string value) =>
        value.Length == 35 && value.StartsWith("md5", StringComparison.Ordinal) && value.AsSpan(3).ContainsAnyExcept("0123456789abcdefABCDEF") == false;

    /// <summary>The stored form: md5 + md5hex(password + user). A value that already is a hash is returned as is.</summary>
    public static string StoredHash(string passwordOrHash, string user) =>
        IsHash(passwordOrHash) ? passwordOrHash.ToLowerInvariant() : "md5" + Hex(Encoding.UTF8.GetBytes(passwordOrHash + user));

    /// <summary>The response to AuthenticationMD5Password with the 4-byte <paramref name="salt"/>.</summary>
    public static string Response(string passwordOrHash, string user, ReadOnlySpan<byte> salt)
    {
        var stored = StoredHash(passwordOrHash, user).AsSpan(3);
        var input = new byte[32 + salt.Length];
        Encoding.ASCII.GetBytes(stored, input);
        salt.CopyTo(input.AsSpan(32));
        return "md5" + Hex(input);
    }

    private static string Hex(byte[] data) => Convert.ToHexStringLower(MD5.HashData(data));
}
