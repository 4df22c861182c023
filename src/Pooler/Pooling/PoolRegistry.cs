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

    /// <summary>Database groups created so far, by database name.</summary>
    public IReadOnlyDictionary<string, DatabaseGroup> Groups => _groups;

    /// <summary>The group of <paramref name="database"/>, created when no pool exists yet (PAUSE before first use).</summary>
    public DatabaseGroup GroupOf(string database) => _groups.GetOrAdd(database, db => new DatabaseGroup(db, maxConnectionsFor(db)));

    /// <summary>The pool of <paramref name="key"/>, or null when no client has used it yet.</summary>
    public ServerPool? GetExisting(PoolKey key) => _pools.TryGetValue(key, out var pool) ? pool : null;

    public ServerPool GetOrCreate(PoolKey key)
    {
        if (_pools.TryGetValue(key, out var pool))
            return pool;
        lock (_createSync)
        {
            if (_pools.TryGetValue(key, out pool))
                return pool;
            var group = GroupOf(key.Database);
            pool = new ServerPool(key, settingsFor(key), group, connectorFor(key), time);
            _pools[key] = pool;
            return pool;
        }
    }
}
