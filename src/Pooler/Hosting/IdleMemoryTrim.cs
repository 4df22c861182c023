// Gives a burst's memory back once the pooler goes quiet. After a login storm or a load spike the GC heap holds the
// burst's garbage, and the room it grew into, until the next collection; with nothing allocating (thousands of idle
// clients) that collection never comes. Measured: 10,000 clients that logged in and went idle kept ≈1 KB each of dead
// login objects resident, plus native memory their finalizers had not freed yet. So, after at least BurstBytes of
// allocation, the second quiet second in a row runs one compacting full collection that decommits what it frees,
// waits for the finalizers, and asks glibc to return freed pages (malloc_trim). Under load no second is quiet and the
// GC runs as it always does; at a trickle (under ≈400 transactions a second) it costs one full collection, a few
// milliseconds with 10,000 clients, per BurstBytes allocated (every 16 s at the most). A mass departure counts as a
// burst too: the sessions of clients that left are garbage that took little allocation to make so (1,000 closes
// allocate well under BurstBytes), and an idle pooler would hold them until its next burst. TUKI_POOL_IDLE_TRIM=0
// turns it off.
using System.Runtime.InteropServices;

namespace Tuki.Pool.Pooler.Hosting;

internal sealed class IdleMemoryTrim
{
    internal const long BurstBytes = 4 << 20;   // allocated since the last trim: less is not worth a full collection
    internal const long QuietBytes = 256 << 10; // allocated within a tick (a second) that counts as quiet
    internal const int DepartedClients = 1000;   // clients gone since the most there were since the last trim

    /// <summary>Off with TUKI_POOL_IDLE_TRIM=0 (the runtime then creates none).</summary>
    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("TUKI_POOL_IDLE_TRIM") != "0";

    private readonly Func<long> _allocatedBytes;
    private readonly Action _trim;
    private long _lastAllocated;
    private long _sinceTrim;
    private int _quietTicks;
    private int _mostClients; // since the last trim

    /// <summary>The last trim: how long it took and the GC heap before and after it (for the log).</summary>
    public (TimeSpan Took, long HeapBefore, long HeapAfter) LastTrim { get; private set; }
    private static bool s_mallocTrim = OperatingSystem.IsLinux();

    /// <summary>Tests pass their own allocation counter and trim.</summary>
    public IdleMemoryTrim(Func<long>? allocatedBytes = null, Action? trim = null)
    {
        _allocatedBytes = allocatedBytes ?? (static () => GC.GetTotalAllocatedBytes());
        _trim = trim ?? Trim;
        _lastAllocated = _allocatedBytes();
    }

    /// <summary>Called once a second with the number of connected clients; true when it trimmed (then
    /// <see cref="LastTrim"/> says how long it took).</summary>
    public bool Tick(int clients)
    {
        var allocated = _allocatedBytes();
        var lastTick = allocated - _lastAllocated;
        _lastAllocated = allocated;
        _sinceTrim += lastTick;
        _quietTicks = lastTick < QuietBytes ? _quietTicks + 1 : 0;
        _mostClients = Math.Max(_mostClients, clients);
        if (_quietTicks < 2 || (_sinceTrim < BurstBytes && _mostClients - clients < DepartedClients))
            return false;
        (_sinceTrim, _quietTicks, _mostClients) = (0, 0, clients);
        var heapBefore = GC.GetTotalMemory(forceFullCollection: false);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        _trim();
        LastTrim = (System.Diagnostics.Stopwatch.GetElapsedTime(started), heapBefore, GC.GetTotalMemory(forceFullCollection: false));
        _lastAllocated = _allocatedBytes(); // the trim's own allocations are not the next burst
        return true;
    }

    private static void Trim()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers(); // native memory held by finalizable garbage is freed now, before the trim
        if (!s_mallocTrim)
            return;
        try
        {
            malloc_trim(0);
        }
        catch (Exception ex) when (ex is EntryPointNotFoundException or DllNotFoundException)
        {
            s_mallocTrim = false; // not glibc (musl has no malloc_trim)
        }
    }

    [DllImport("libc")]
    private static extern int malloc_trim(nuint pad);
}
