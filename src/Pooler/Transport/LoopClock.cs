// The time as a readiness-loop thread sees it: read once when a batch of events arrives (and again every few dozen
// events of a long batch), not at every state change. A transaction moves a session's state four or five times
// (waiting, bound, query sent, reply, released) and the pool marks its server twice (lifetime, idle since): ≈7 clock
// reads per transaction, and clock_gettime was 4.5 % of the pooler's user time on `pgbench -S -M extended -c 50`.
// What the sessions time with it (waits, queries, transactions, timeouts) is measured in microseconds to minutes;
// an error of one batch's processing time (well under a millisecond) does not show.
//
// Off the loop (thread pool, tests, timers) there is no batch, and Now reads the clock. A duration whose start was
// read on another thread, after this batch began, can come out slightly negative: PoolStats counts those as zero.
using System.Diagnostics;

namespace Tuki.Pool.Pooler.Transport;

internal static class LoopClock
{
    [ThreadStatic] private static long t_batchTime; // Stopwatch timestamp; 0 on threads that are not loop threads

    /// <summary>A Stopwatch timestamp: the current batch's on a loop thread, the clock's elsewhere.</summary>
    public static long Now
    {
        get
        {
            var now = t_batchTime;
            return now != 0 ? now : Stopwatch.GetTimestamp();
        }
    }

    /// <summary>The readiness loop calls this when events arrive (and during a long batch).</summary>
    internal static void Tick() => t_batchTime = Stopwatch.GetTimestamp();

    /// <summary><see cref="TimeProvider.System"/> with <see cref="Now"/> as its timestamp (the pools' clock; tests
    /// give them a fake one).</summary>
    public static TimeProvider Provider { get; } = new BatchTimeProvider();

    private sealed class BatchTimeProvider : TimeProvider
    {
        public override long GetTimestamp() => Now;
    }
}
