// Pool changes a reload or the admin console makes: resize both ways without touching a rented server, retire by
// generation (RECONNECT, a changed address), retire a removed database's pool, pause and resume.
using Microsoft.Extensions.Time.Testing;
using Tuki.Pool.Pooler.Pooling;

namespace Tuki.Pool.Pooler.Tests.Pooling;

public sealed class PoolReloadTests
{
    private readonly FakeTimeProvider _time = new();

    private ServerPool NewPool(int size, DatabaseGroup? group = null) =>
        new(new PoolKey("db", "u"), Settings(size), group ?? new DatabaseGroup("db", 0),
            _ => Task.FromResult<IPooledConnection>(new Fake()), _time);

    private static PoolSettings Settings(int size) => new(size, 0, TimeSpan.FromSeconds(10), TimeSpan.Zero, TimeSpan.Zero);

    [Fact]
    public async Task UpdateSettings_Bigger_WaitersGetNewServersAtOnce()
    {
        var pool = NewPool(1);
        await pool.RentAsync();
        var waiting = pool.RentAsync().AsTask();
        Assert.False(waiting.IsCompleted);

        pool.UpdateSettings(Settings(2));

        await waiting.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(new PoolCounts(2, 0, 0, 0), pool.Counts);
    }

    [Fact]
    public async Task UpdateSettings_Smaller_IdleClosedNowRentedClosedOnReturn()
    {
        var pool = NewPool(3);
        var a = (Fake)await pool.RentAsync();
        var b = (Fake)await pool.RentAsync();
        var c = (Fake)await pool.RentAsync();
        pool.Return(c);

        pool.UpdateSettings(Settings(1));
        Assert.Equal(DisconnectReason.Retired, c.ClosedWith);
        Assert.Null(a.ClosedWith); // rented: never touched mid-transaction

        pool.Return(a);
        Assert.Equal(DisconnectReason.Retired, a.ClosedWith);
        pool.Return(b);
        Assert.Null(b.ClosedWith); // back within the new size: kept
        Assert.Equal(new PoolCounts(0, 1, 0, 0), pool.Counts);
    }

    [Fact]
    public async Task BumpGeneration_OldServersRetiredOnReturnNewOnesKept()
    {
        var pool = NewPool(2);
        var old = (Fake)await pool.RentAsync();
        pool.BumpGeneration();
        var fresh = (Fake)await pool.RentAsync();

        pool.Return(old);
        pool.Return(fresh);

        Assert.Equal(DisconnectReason.Retired, old.ClosedWith);
        Assert.Null(fresh.ClosedWith);
        Assert.Equal(1, pool.Counts.Idle);
    }

    [Fact]
    public async Task Retire_IdleClosedAndRentedClosedOnReturn()
    {
        var pool = NewPool(2);
        var busy = (Fake)await pool.RentAsync();
        var idle = (Fake)await pool.RentAsync();
        pool.Return(idle);

        pool.Retire();
        Assert.Equal(DisconnectReason.Retired, idle.ClosedWith);
        pool.Return(busy);
        Assert.Equal(DisconnectReason.Retired, busy.ClosedWith);
    }

    [Fact]
    public async Task Reinstate_AfterRetire_ServesAgainAndRetiresOnlyOldServers()
    {
        var pool = NewPool(2);
        var before = (Fake)await pool.RentAsync();
        pool.Retire();
        pool.Reinstate();
        var after = (Fake)await pool.RentAsync();

        pool.Return(before);
        pool.Return(after);

        Assert.Equal(DisconnectReason.Retired, before.ClosedWith);
        Assert.Null(after.ClosedWith);
        Assert.False(pool.Retired);
    }

    [Fact]
    public async Task PauseResume_GateHoldsUntilResume()
    {
        var group = new DatabaseGroup("db", 0);
        group.Pause();
        var gate = group.WaitUntilResumedAsync(CancellationToken.None);
        Assert.True(group.Paused);
        Assert.False(gate.IsCompleted);

        group.Resume();
        await gate.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(group.Paused);
        Assert.True(group.WaitUntilResumedAsync(CancellationToken.None).IsCompleted);
    }

    private sealed class Fake : IPooledConnection
    {
        public DisconnectReason? ClosedWith { get; private set; }
        public long CreatedTimestamp => 0;
        public long IdleSinceTimestamp { get; set; }
        public int Generation { get; set; }
        public bool CheckUsable() => ClosedWith is null;
        public void Close(DisconnectReason reason) => ClosedWith ??= reason;
    }
}
