// Splits a SCRAM message ("a=value,b=value") into attributes (RFC 5802 section 5).
namespace Tuki.Pool.Pooler.Auth;

internal static class ScramAttributes
{
    public static string? Get(string message, char name)
    {
        foreach (var part in message.Split(','))
            if (part.Length >= 2 && part[0] == name && part[1] == '=')
                return part.Substring(2);
        return null;
    }

    public static string NewNonce()
    {
        Span<byte> bytes = stackalloc byte[18];
        System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        return Convert.ToBase64String(bytes);
    }
}
