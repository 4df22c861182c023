using Tuki.Pool.Pooler.Concurrency;
using Xunit;

namespace Tuki.Pool.Pooler.Tests.Concurrency;

public class LeanLockTests
{
    private sealed class Guarded
    {
        public int State;
        public long Counter;
        public int Inside;

        public LeanLock.Held Lock() => LeanLock.Enter(ref State, this);
    }

    /// <summary>Another thread that takes the lock once and signals when it got in.</summary>
    private sealed class Contender
    {
        public ManualResetEventSlim Entered { get; } = new();
        private Thread _thread = null!;

        public static Contender Start(Guarded guarded)
        {
            var contender = new Contender();
            contender._thread = new Thread(() => { using (guarded.Lock()) contender.Entered.Set(); });
            contender._thread.Start();
            return contender;
        }

        public void AssertGetsInAfterRelease(Guarded guarded)
        {
            Assert.True(Entered.Wait(TimeSpan.FromSeconds(10)));
            Assert.True(_thread.Join(TimeSpan.FromSeconds(10)));
            Assert.False(LeanLock.IsHeld(ref guarded.State));
        }
    }

    [Fact]
    public void Excludes_under_contention_and_wakes_every_sleeper()
    {
        // More threads than cores, and a critical section long enough that waiters exhaust their spin and sleep:
        // every increment must land, no two threads may be inside at once, and nobody may sleep forever.
        var guarded = new Guarded();
        const int threads = 8, rounds = 20_000;
        var overlaps = 0;
        var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() =>
        {
            for (var i = 0; i < rounds; i++)
            {
                using (guarded.Lock())
                {
                    if (Interlocked.Increment(ref guarded.Inside) != 1)
                        Interlocked.Increment(ref overlaps);
                    guarded.Counter++;
                    if (i % 64 == 0)
                        Thread.SpinWait(2_000);
                    Interlocked.Decrement(ref guarded.Inside);
                }
            }
        })).ToList();
        workers.ForEach(t => t.Start());
        foreach (var t in workers)
            Assert.True(t.Join(TimeSpan.FromSeconds(60)), "a thread never got the lock (lost wake-up)");

        Assert.Equal(0, overlaps);
        Assert.Equal((long)threads * rounds, guarded.Counter);
        Assert.False(LeanLock.IsHeld(ref guarded.State));
    }

    [Fact]
    public void The_owner_may_enter_again_and_only_the_outer_scope_releases()
    {
        var guarded = new Guarded();
        Contender other;
        using (guarded.Lock())
        {
            using (guarded.Lock())
                Assert.True(LeanLock.IsHeld(ref guarded.State));
            Assert.True(LeanLock.IsHeld(ref guarded.State)); // the inner scope released nothing

            other = Contender.Start(guarded);
            Assert.False(other.Entered.Wait(TimeSpan.FromMilliseconds(200))); // still held by the outer scope
        }
        other.AssertGetsInAfterRelease(guarded);
    }

    [Fact]
    public void A_sleeping_waiter_is_woken_by_the_release()
    {
        var guarded = new Guarded();
        Contender other;
        using (guarded.Lock())
        {
            other = Contender.Start(guarded);
            Thread.Sleep(100); // long past its spin: it sleeps on the gate now
            Assert.False(other.Entered.IsSet);
        }
        other.AssertGetsInAfterRelease(guarded);
    }

    [Fact]
    public void An_exception_inside_releases_the_lock()
    {
        var guarded = new Guarded();
        Action fail = () =>
        {
            using (guarded.Lock())
                throw new InvalidOperationException();
        };
        Assert.Throws<InvalidOperationException>(fail);
        Assert.False(LeanLock.IsHeld(ref guarded.State));
    }
}
