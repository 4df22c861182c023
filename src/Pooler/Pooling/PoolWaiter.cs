// A client waiting in line for a server. Claimed under the pool's lock (by a hand-out, query_wait, a cancel, a failed
// open or shutdown: exactly one of them wins), completed after the lock is released. Continuations run inline on
// purpose: the thread that returns a server goes straight on with the next client's transaction, with no thread-pool
// hop in between (PgBouncer's single loop does the same). Nothing may hold a lock around Give or Fail.
// Recycled: a waiter that was given a server has left the queue, so once its result is read it becomes the thread's
// spare for the next wait, and a wait allocates nothing. A failed one (timeout, cancel, shutdown) may still sit in the
// queue, claimed, and is never reused. Its ValueTask must be awaited exactly once.
using System.Threading.Tasks.Sources;

namespace Tuki.Pool.Pooler.Pooling;

internal sealed class PoolWaiter : IValueTaskSource<IPooledConnection>
{
    [ThreadStatic] private static PoolWaiter? t_spare;

    private ManualResetValueTaskSourceCore<IPooledConnection> _core; // RunContinuationsAsynchronously false: inline
    private bool _claimed;

    private PoolWaiter()
    {
    }

    public static PoolWaiter Rent(long since)
    {
        var waiter = t_spare ?? new PoolWaiter();
        t_spare = null;
        waiter.Since = since;
        return waiter;
    }

    /// <summary>When the wait started (TimeProvider timestamp), for query_wait.</summary>
    public long Since { get; private set; }

    public ValueTask<IPooledConnection> Task => new(this, _core.Version);

    /// <summary>Caller holds the pool's lock. True for the one caller that may complete this waiter.</summary>
    public bool TryClaimLocked()
    {
        if (_claimed)
            return false;
        _claimed = true;
        return true;
    }

    public void Give(IPooledConnection connection) => _core.SetResult(connection);

    public void Fail(Exception error) => _core.SetException(error);

    IPooledConnection IValueTaskSource<IPooledConnection>.GetResult(short token)
    {
        var connection = _core.GetResult(token); // a failed wait throws here: that waiter is not reused
        _core.Reset();
        _claimed = false;
        t_spare = this;
        return connection;
    }

    ValueTaskSourceStatus IValueTaskSource<IPooledConnection>.GetStatus(short token) => _core.GetStatus(token);

    void IValueTaskSource<IPooledConnection>.OnCompleted(Action<object?> continuation, object? state, short token,
        ValueTaskSourceOnCompletedFlags flags) => _core.OnCompleted(continuation, state, token, flags);
}
