// Raised to a client whose wait for a server exceeded pool.timeouts.query_wait.
namespace Tuki.Pool.Pooler.Pooling;

public sealed class PoolWaitTimeoutException(PoolKey key, TimeSpan waited, int size)
    : Exception($"no server for {key} within {waited.TotalSeconds:0.###}s (pool size {size})")
{
    public PoolKey Key { get; } = key;
    public TimeSpan Waited { get; } = waited;
    public int Size { get; } = size;
}
