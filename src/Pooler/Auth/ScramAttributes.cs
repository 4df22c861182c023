// Splits a SCRAM message ("a=value,b=value") into attributes (RFC 5802 section 5).
namespace Tuki.Pool.Pooler.Auth;

internal static class ScramAttributes
{
    public static string? Get(string message, char name) =>
        TryFind(message, name, out var value) ? value.ToString() : null;

    /// <summary>The value of attribute <paramref name="name"/>, or empty when absent (no allocation).</summary>
    public static ReadOnlySpan<char> Find(ReadOnlySpan<char> message, char name) =>
        TryFind(message, name, out var value) ? value : default;

    private static bool TryFind(ReadOnlySpan<char> message, char name, out ReadOnlySpan<char> value)
    {
        foreach (var range in message.Split(','))
        {
            var part = message[range];
            if (part.Length >= 2 && part[0] == name && part[1] == '=')
            {
                value = part[2..];
                return true;
            }
        }
        value = default;
        return false;
    }

    public static string NewNonce()
    {
        Span<byte> bytes = stackalloc byte[18];
        RandomBytes.Fill(bytes);
        return Convert.ToBase64String(bytes);
    }
}
