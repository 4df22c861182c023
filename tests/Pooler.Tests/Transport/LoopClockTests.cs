using System.Diagnostics;
using Tuki.Pool.Pooler.Metrics;
using Tuki.Pool.Pooler.Pooling;
using Tuki.Pool.Pooler.Transport;
using Xunit;

namespace Tuki.Pool.Pooler.Tests.Transport;

public class LoopClockTests
{
    [Fact]
    public void Off_a_loop_thread_it_reads_the_clock()
    {
        var before = Stopwatch.GetTimestamp();
        var first = RunOnFreshThread(() => LoopClock.Now);
        Thread.Sleep(2);
        var second = RunOnFreshThread(() => LoopClock.Now);
        Assert.True(first >= before);
        Assert.True(second > first, "a thread that is not a loop thread must see time move");
    }

    [Fact]
    public void On_a_loop_thread_it_holds_the_batch_time_until_the_next_tick()
    {
        var (ticked, held, later) = RunOnFreshThread(() =>
        {
            LoopClock.Tick();
            var ticked = LoopClock.Now;
            Thread.Sleep(2);
            var held = LoopClock.Now;
            LoopClock.Tick();
            return (ticked, held, LoopClock.Now);
        });
        Assert.Equal(ticked, held);
        Assert.True(later > held);
    }

    [Fact]
    public void The_pools_provider_gives_the_batch_time()
    {
        var (batch, provided) = RunOnFreshThread(() =>
        {
            LoopClock.Tick();
            return (LoopClock.Now, LoopClock.Provider.GetTimestamp());
        });
        Assert.Equal(batch, provided);
        Assert.Equal(Stopwatch.Frequency, LoopClock.Provider.TimestampFrequency);
    }

    [Fact]
    public void A_start_stamped_after_the_batch_began_counts_as_zero_not_negative()
    {
        var stats = new PoolStats(new PoolKey("db", "user"), metrics: null);
        stats.QueryDone(-500);
        stats.TransactionDone(-1);
        stats.Waited(-3);
        Assert.Equal(0, stats.QueryMicros);
        Assert.Equal(0, stats.TransactionMicros);
        Assert.Equal(0, stats.WaitMicros);
        Assert.Equal(1, stats.Queries);
        Assert.Equal(1, stats.Transactions);
    }

    private static T RunOnFreshThread<T>(Func<T> body)
    {
        T result = default!;
        var thread = new Thread(() => result = body());
        thread.Start();
        thread.Join();
        return result;
    }
}
