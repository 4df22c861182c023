// (database, user) → Pool, created on first use; pools of one database share a DatabaseGroup.
using System.Collections.Concurrent;

namespace Tuki.Pool.Pooler.Pooling;

public sealed class PoolRegistry(
    Func<PoolKey, PoolSettings> settingsFor,
    Func<string, int> maxConnectionsFor,
    Func<PoolKey, Func<CancellationToken, Task<IPooledConnection>>> connectorFor,
    TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<PoolKey, ServerPool> _pools = new();
    private readonly ConcurrentDictionary<string, DatabaseGroup> _groups = new();
    private readonly Lock _createSync = new();

    public ICollection<ServerPool> Pools => _pools.Values;

    public ServerPool GetOrCreate(PoolKey key)
    {
        if (_pools.TryGetValue(key, out var pool))
            return pool;
        lock (_createSync)
        {
            if (_pools.TryGetValue(key, out pool))
                return pool;
            var group = _groups.GetOrAdd(key.Database, db => new DatabaseGroup(db, maxConnectionsFor(db)));
            pool = new ServerPool(key, settingsFor(key), group, connectorFor(key), time);
            _pools[key] = pool;
            return pool;
        }
    }
}
