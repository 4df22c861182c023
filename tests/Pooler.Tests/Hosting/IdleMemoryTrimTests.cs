// When the pooler gives a burst's memory back: only once it is quiet, only after a burst, once per burst. The
// allocation counter and the trim are the test's own; the real trim is a full GC and malloc_trim.
using Tuki.Pool.Pooler.Hosting;

namespace Tuki.Pool.Pooler.Tests.Hosting;

public sealed class IdleMemoryTrimTests
{
    private long _allocated;
    private int _trims;
    private readonly IdleMemoryTrim _trim;

    public IdleMemoryTrimTests() => _trim = new IdleMemoryTrim(() => _allocated, () => _trims++);

    private bool TickAfter(long bytes, int clients = 0)
    {
        _allocated += bytes;
        return _trim.Tick(clients);
    }

    [Fact]
    public void AfterABurst_TrimsOnTheSecondQuietTick_Once()
    {
        Assert.False(TickAfter(IdleMemoryTrim.BurstBytes)); // the burst itself: not quiet
        Assert.False(TickAfter(0));                          // one quiet tick could be a pause between requests
        Assert.True(TickAfter(0));
        Assert.False(TickAfter(0));
        Assert.False(TickAfter(0));
        Assert.Equal(1, _trims);
    }

    [Fact]
    public void UnderSteadyLoad_NeverTrims()
    {
        for (var i = 0; i < 100; i++)
            Assert.False(TickAfter(IdleMemoryTrim.QuietBytes));
        Assert.Equal(0, _trims);
    }

    [Fact]
    public void ATrickle_TrimsOncePerBurstOfAllocation()
    {
        var perTick = IdleMemoryTrim.QuietBytes / 2;
        var ticks = 0;
        while (_trims == 0 && ticks < 1000)
        {
            TickAfter(perTick);
            ticks++;
        }
        Assert.Equal(1, _trims);
        Assert.True(ticks * perTick >= IdleMemoryTrim.BurstBytes);
    }

    [Fact]
    public void QuietWithoutABurst_DoesNotTrim()
    {
        Assert.False(TickAfter(IdleMemoryTrim.BurstBytes / 2));
        for (var i = 0; i < 10; i++)
            Assert.False(TickAfter(0));
        Assert.Equal(0, _trims);
    }

    [Fact]
    public void RealTrim_RunsAFullCollectionAndTheNativeTrim()
    {
        var real = new IdleMemoryTrim(() => _allocated); // the real trim: GC.Collect (aggressive) + malloc_trim
        var before = GC.CollectionCount(GC.MaxGeneration);
        _allocated += IdleMemoryTrim.BurstBytes;
        Assert.False(real.Tick(0));
        Assert.False(real.Tick(0));
        Assert.True(real.Tick(0));
        Assert.True(GC.CollectionCount(GC.MaxGeneration) > before);
    }

    [Fact]
    public void ManyClientsLeft_TrimsOnceQuietEvenWithoutABurstOfAllocation()
    {
        Assert.False(TickAfter(0, clients: 5000));
        Assert.False(TickAfter(0, clients: 5000));  // quiet, but nothing to give back
        Assert.False(TickAfter(0, clients: 5000));
        Assert.False(TickAfter(IdleMemoryTrim.QuietBytes, clients: 5000 - IdleMemoryTrim.DepartedClients)); // they leave
        Assert.False(TickAfter(0, clients: 5000 - IdleMemoryTrim.DepartedClients));
        Assert.True(TickAfter(0, clients: 5000 - IdleMemoryTrim.DepartedClients));
        Assert.False(TickAfter(0, clients: 5000 - IdleMemoryTrim.DepartedClients));
        Assert.Equal(1, _trims);
    }

    [Fact]
    public void AFewClientsComingAndGoing_DoNotTrim()
    {
        for (var i = 0; i < 50; i++)
            Assert.False(TickAfter(0, clients: i % 2 == 0 ? 3000 : 3000 - IdleMemoryTrim.DepartedClients / 2));
        Assert.Equal(0, _trims);
    }
}
