// HMAC-SHA-256 with the key's context kept per thread. The one-shot HMACSHA256.HashData makes OpenSSL 3 look the
// algorithm up by name, build a context and free it on every call (≈2 µs, and a reader lock shared by all threads);
// a kept context is reset with its key still loaded (≈1 µs). A SCRAM login signs with the same two keys per user
// (StoredKey, ServerKey) every time, so a few slots per thread catch nearly every call.
using System.Security.Cryptography;

namespace Tuki.Pool.Pooler.Auth;

internal static class HmacSha256
{
    private const int SlotsPerThread = 4;

    // Keyed by the key array itself (ScramSecret's arrays never change); evicted round-robin.
    [ThreadStatic] private static (byte[] Key, IncrementalHash Hash)[]? t_slots;
    [ThreadStatic] private static int t_nextSlot;

    public static void HashData(byte[] key, ReadOnlySpan<byte> data, Span<byte> destination)
    {
        var hash = ContextFor(key);
        hash.AppendData(data);
        hash.GetHashAndReset(destination);
    }

    private static IncrementalHash ContextFor(byte[] key)
    {
        var slots = t_slots ??= new (byte[], IncrementalHash)[SlotsPerThread];
        foreach (var (slotKey, hash) in slots)
            if (ReferenceEquals(slotKey, key))
                return hash;
        ref var slot = ref slots[t_nextSlot];
        t_nextSlot = (t_nextSlot + 1) % SlotsPerThread;
        slot.Hash?.Dispose();
        slot = (key, IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key));
        return slot.Hash;
    }
}
