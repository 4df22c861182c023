// The pooler's own BackendKeyData per client. A CancelRequest names a client; it is forwarded only to the server
// that client is bound to at that moment, with that server's real key, so it never reaches another client's query.
using System.Collections.Concurrent;
using System.Security.Cryptography;
using Tuki.Pool.Pooler.Auth;

namespace Tuki.Pool.Pooler.Clients;

public sealed class CancelKeyRegistry
{
    private readonly ConcurrentDictionary<int, (int SecretKey, ClientSession Session)> _sessions = new();
    private int _nextProcessId = RandomNumberGenerator.GetInt32(1 << 20, 1 << 30);

    public (int ProcessId, int SecretKey) Register(ClientSession session)
    {
        var secret = RandomBytes.NextInt32();
        while (true)
        {
            var pid = Interlocked.Increment(ref _nextProcessId) & int.MaxValue;
            if (pid != 0 && _sessions.TryAdd(pid, (secret, session)))
                return (pid, secret);
        }
    }

    public void Unregister(int processId) => _sessions.TryRemove(processId, out _);

    /// <summary>The session owning this key, or null. The secret is compared in constant time.</summary>
    public ClientSession? Find(int processId, int secretKey)
    {
        if (!_sessions.TryGetValue(processId, out var entry))
            return null;
        Span<byte> expected = stackalloc byte[4], actual = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(expected, entry.SecretKey);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(actual, secretKey);
        return CryptographicOperations.FixedTimeEquals(expected, actual) ? entry.Session : null;
    }
}
