// The pools of one database share a lock and the database-wide cap (databases.X.max_connections).
using Tuki.Pool.Pooler.Concurrency;

namespace Tuki.Pool.Pooler.Pooling;

/// <summary>
/// One lock for every pool of a database keeps the cap exact without lock ordering: a pool reserves a slot in its
/// own size and in the database's cap in one step. Pools of different databases never contend.
/// </summary>
public sealed class DatabaseGroup(string database, int maxConnections)
{
    // Taken at every rent and return, from every loop thread: a LeanLock, whose uncontended enter and exit are one
    // atomic instruction each (Lock and Monitor call into the runtime).
    private int _lock;

    internal LeanLock.Held Lock() => LeanLock.Enter(ref _lock, this);
    private readonly List<ServerPool> _pools = [];
    private int _count;

    public string Database { get; } = database;

    /// <summary>0 means no cap. Changed by a reload: a lower cap takes effect as servers close.</summary>
    public int MaxConnections { get; set; } = maxConnections;

    /// <summary>Server connections open or opening for this database, all users together.</summary>
    public int Count { get { using (Lock()) return _count; } }

    internal void Add(ServerPool pool) { using (Lock()) _pools.Add(pool); }

    // PAUSE / KILL: new transactions wait at this gate until RESUME; null when open.
    private TaskCompletionSource? _pauseGate;

    public bool Paused => Volatile.Read(ref _pauseGate) is not null;

    /// <summary>Completes at once when not paused; otherwise when RESUME opens the gate.</summary>
    public Task WaitUntilResumedAsync(CancellationToken cancellationToken) =>
        Volatile.Read(ref _pauseGate) is { } gate ? gate.Task.WaitAsync(cancellationToken) : Task.CompletedTask;

    /// <summary>Closes the gate: transactions already running finish, new ones wait (PAUSE).</summary>
    public void Pause()
    {
        using (Lock()) _pauseGate ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Opens the gate; waiting transactions go on (RESUME).</summary>
    public void Resume()
    {
        TaskCompletionSource? gate;
        using (Lock())
        {
            gate = _pauseGate;
            _pauseGate = null;
        }
        gate?.TrySetResult();
    }

    /// <summary>The pools of this database (a copy).</summary>
    public IReadOnlyList<ServerPool> PoolsSnapshot()
    {
        using (Lock()) return [.. _pools];
    }

    /// <summary>Caller holds the group lock (<see cref="Lock"/>). Only with <paramref name="mayEvict"/> may it close another pool's
    /// idle server (returned in <paramref name="evicted"/> for the caller to close outside the lock).</summary>
    internal bool TryReserve(ServerPool requester, bool mayEvict, out IPooledConnection? evicted)
    {
        evicted = null;
        if (MaxConnections == 0 || _count < MaxConnections)
        {
            _count++;
            return true;
        }
        if (!mayEvict)
            return false;
        // At the cap: an idle server of another user's pool is worth less than a waiting client; close it.
        foreach (var pool in _pools)
        {
            if (pool != requester && pool.TryEvictIdleLocked(out var victim))
            {
                evicted = victim; // its slot in _count passes to the requester unchanged
                return true;
            }
        }
        return false;
    }

    /// <summary>Caller holds the group lock (<see cref="Lock"/>).</summary>
    internal void Release() => _count--;

    /// <summary>Caller holds the group lock (<see cref="Lock"/>). True when the cap is reached and another pool has clients waiting:
    /// a server coming back idle should then make room for them rather than sit in its own pool.</summary>
    internal bool OthersWaitAtCapLocked(ServerPool returning)
    {
        if (MaxConnections == 0 || _count < MaxConnections)
            return false;
        foreach (var pool in _pools)
            if (pool != returning && pool.WaitingLocked > 0)
                return true;
        return false;
    }

    /// <summary>Caller holds the group lock (<see cref="Lock"/>). A slot was freed: let a pool with waiters open a server.</summary>
    internal void OfferFreedSlotLocked(ref List<ServerPool>? toOpen)
    {
        foreach (var pool in _pools)
            if (pool.TryReserveForWaiterLocked())
                (toOpen ??= []).Add(pool);
    }
}
