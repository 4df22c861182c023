// A client waiting in line for a server. Claimed under the pool's lock (by a hand-out, query_wait, a cancel, a failed
// open or shutdown: exactly one of them wins), completed after the lock is released. Continuations run inline on
// purpose: the thread that returns a server goes straight on with the next client's transaction, with no thread-pool
// hop in between (PgBouncer's single loop does the same). Nothing may hold a lock around Give or Fail.
namespace Tuki.Pool.Pooler.Pooling;

internal sealed class PoolWaiter(long since) : TaskCompletionSource<IPooledConnection>(TaskCreationOptions.None)
{
    private bool _claimed;

    /// <summary>When the wait started (TimeProvider timestamp), for query_wait.</summary>
    public long Since { get; } = since;

    /// <summary>Caller holds the pool's lock. True for the one caller that may complete this waiter.</summary>
    public bool TryClaimLocked()
    {
        if (_claimed)
            return false;
        _claimed = true;
        return true;
    }

    public void Give(IPooledConnection connection) => SetResult(connection);

    public void Fail(Exception error) => SetException(error);
}
