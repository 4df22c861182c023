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

    /// <summary>The value of attribute <paramref name="name"/> in a message as UTF-8 bytes, or empty when absent.</summary>
    public static ReadOnlySpan<byte> Find(ReadOnlySpan<byte> message, byte name)
    {
        while (!message.IsEmpty)
        {
            var comma = message.IndexOf((byte)',');
            var part = comma < 0 ? message : message[..comma];
            if (part.Length >= 2 && part[0] == name && part[1] == (byte)'=')
                return part[2..];
            message = comma < 0 ? default : message[(comma + 1)..];
        }
        return default;
    }

    private const int NonceBytes = 18;

    /// <summary>Characters of a nonce made by <see cref="NewNonce(Span{byte})"/> (base64 of 18 random bytes).</summary>
    public const int NonceLength = NonceBytes / 3 * 4;

    public static string NewNonce()
    {
        Span<byte> nonce = stackalloc byte[NonceLength];
        return System.Text.Encoding.ASCII.GetString(nonce[..NewNonce(nonce)]);
    }

    /// <summary>A fresh nonce written as ASCII into <paramref name="destination"/> (≥ <see cref="NonceLength"/>); its length.</summary>
    public static int NewNonce(Span<byte> destination)
    {
        Span<byte> bytes = stackalloc byte[NonceBytes];
        RandomBytes.Fill(bytes);
        if (System.Buffers.Text.Base64.EncodeToUtf8(bytes, destination, out _, out var written) != System.Buffers.OperationStatus.Done)
            throw new ArgumentException($"room for {NonceLength} bytes needed", nameof(destination));
        return written;
    }
}
