// Cryptographically secure random bytes for nonces and cancel keys, drawn from a per-thread block. Each
// RandomNumberGenerator call costs ≈1 µs of OpenSSL DRBG set-up whatever its size; a login needs two small draws
// (the SCRAM nonce, the cancel key), so one 512-byte fill serves ~20 logins. Bytes handed out are wiped from the block.
using System.Security.Cryptography;

namespace Tuki.Pool.Pooler.Auth;

internal static class RandomBytes
{
    private const int BlockSize = 512;

    [ThreadStatic] private static byte[]? t_block;
    [ThreadStatic] private static int t_used;

    public static void Fill(Span<byte> destination)
    {
        if (destination.Length > BlockSize / 4)
        {
            RandomNumberGenerator.Fill(destination);
            return;
        }
        var block = t_block ??= new byte[BlockSize];
        if (t_used == 0 || t_used + destination.Length > BlockSize)
        {
            RandomNumberGenerator.Fill(block);
            t_used = 0;
        }
        var taken = block.AsSpan(t_used, destination.Length);
        taken.CopyTo(destination);
        CryptographicOperations.ZeroMemory(taken);
        t_used += destination.Length;
        if (t_used == BlockSize)
            t_used = 0;
    }

    public static int NextInt32()
    {
        Span<byte> bytes = stackalloc byte[sizeof(int)];
        Fill(bytes);
        return BitConverter.ToInt32(bytes);
    }
}
