// A mutex held in one int field of the object it guards, for the objects every connection owns (a socket's reader
// and writer, a client session) and the pool group every rent and return takes. Monitor (lock (this)) needs no
// field either, but in .NET 10 each Enter and each Exit is a call into the runtime's native helper, which finds the
// current thread through the shared library's TLS: `perf` put 11 % of the pooler's user-mode samples in those two
// helpers, about 18 lock pairs per transaction (bench/RESULTS.md). Here an uncontended Enter is one compare-and-swap
// and Exit one exchange, both inline.
//
// Contention is brief and rare (the client loop and a server pump meet on a session for a few microseconds): the
// waiter spins a little, then sleeps on the guarded object's own Monitor, which nothing else uses. Re-entry by the
// owning thread is allowed (the inner scope releases nothing), as with Monitor: a cancellation callback registered
// under the lock may run inline and take it again.
using System.Runtime.CompilerServices;

namespace Tuki.Pool.Pooler.Concurrency;

internal static class LeanLock
{
    // The state is 0 (free) or the owner's managed thread id, with this bit set once a waiter may be asleep.
    private const int Sleepers = 1 << 30;

    /// <summary>Takes the lock whose state is <paramref name="state"/>; <paramref name="gate"/> is the object it guards
    /// (waiters sleep on its Monitor). Dispose the result to release: <c>using (LeanLock.Enter(ref _lock, this))</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Held Enter(ref int state, object gate)
    {
        var me = Environment.CurrentManagedThreadId;
        var seen = Interlocked.CompareExchange(ref state, me, 0);
        if (seen != 0)
        {
            if ((seen & ~Sleepers) == me)
                return new Held(ref state, gate, owned: false); // re-entry: the outer scope releases
            EnterContended(ref state, gate, me);
        }
        return new Held(ref state, gate, owned: true);
    }

    /// <summary>True while some thread holds the lock (a racy look, for a caller that rechecks under the lock).</summary>
    public static bool IsHeld(ref int state) => Volatile.Read(ref state) != 0;

    private static void EnterContended(ref int state, object gate, int me)
    {
        // Most holders leave within a few hundred nanoseconds; spin that long before sleeping.
        var spinner = new SpinWait();
        for (var i = 0; i < 10; i++)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
            if (Volatile.Read(ref state) == 0 && Interlocked.CompareExchange(ref state, me, 0) == 0)
                return;
        }
        lock (gate)
        {
            while (true)
            {
                var seen = Volatile.Read(ref state);
                if (seen == 0)
                {
                    // Taken with the sleepers bit kept: others may still sleep, so our release must wake one.
                    if (Interlocked.CompareExchange(ref state, me | Sleepers, 0) == 0)
                        return;
                    continue;
                }
                // Mark before sleeping, under the gate: the owner's release then takes the gate to pulse, which it can
                // only do once this thread waits (Monitor.Wait releases the gate atomically).
                if ((seen & Sleepers) != 0 || Interlocked.CompareExchange(ref state, seen | Sleepers, seen) == seen)
                    Monitor.Wait(gate);
            }
        }
    }

    private static void WakeOne(object gate)
    {
        lock (gate)
            Monitor.Pulse(gate);
    }

    /// <summary>The lock while held; releasing it wakes one sleeper if any.</summary>
    public readonly ref struct Held
    {
        private readonly ref int _state;
        private readonly object _gate;
        private readonly bool _owned;

        internal Held(ref int state, object gate, bool owned)
        {
            _state = ref state;
            _gate = gate;
            _owned = owned;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Dispose()
        {
            if (_owned && (Interlocked.Exchange(ref _state, 0) & Sleepers) != 0)
                WakeOne(_gate);
        }
    }
}
