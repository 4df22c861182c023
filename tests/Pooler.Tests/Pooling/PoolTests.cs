// Pool logic without sockets: LIFO reuse, FIFO waiters, query_wait, caps, sweeping, failures.
using Microsoft.Extensions.Time.Testing;
using Tuki.Pool.Pooler.Pooling;

namespace Tuki.Pool.Pooler.Tests.Pooling;

public sealed class PoolTests
{
    private readonly FakeTimeProvider _time = new();
    private int _opened;

    private ServerPool NewPool(int size = 2, TimeSpan? queryWait = null, TimeSpan? idle = null, TimeSpan? lifetime = null,
        DatabaseGroup? group = null, string user = "u", Func<FakeConnection>? connect = null, int minSize = 0)
    {
        var settings = new PoolSettings(size, minSize, queryWait ?? TimeSpan.FromSeconds(10), idle ?? TimeSpan.Zero, lifetime ?? TimeSpan.Zero);
        return new ServerPool(new PoolKey("db", user), settings, group ?? new DatabaseGroup("db", 0),
            _ => Task.FromResult<IPooledConnection>(connect?.Invoke() ?? new FakeConnection(++_opened, _time.GetTimestamp())), _time);
    }

    [Fact]
    public async Task Rent_Empty_OpensNew()
    {
        var pool = NewPool();
        var c = await pool.RentAsync();
        Assert.Equal(1, ((FakeConnection)c).Id);
        Assert.Equal(new PoolCounts(1, 0, 0, 0), pool.Counts);
    }

    [Fact]
    public async Task Return_ThenRent_ReusesMostRecentFirst()
    {
        var pool = NewPool();
        var a = await pool.RentAsync();
        var b = await pool.RentAsync();
        pool.Return(a);
        pool.Return(b);
        Assert.Same(b, await pool.RentAsync());
        Assert.Same(a, await pool.RentAsync());
    }

    [Fact]
    public async Task Rent_PoolExhausted_WaitsFifo()
    {
        var pool = NewPool(size: 1);
        var c = await pool.RentAsync();
        var first = pool.RentAsync().AsTask();
        var second = pool.RentAsync().AsTask();
        Assert.False(first.IsCompleted);
        Assert.Equal(2, pool.Counts.Waiting);

        pool.Return(c);
        Assert.Same(c, await first);
        Assert.False(second.IsCompleted);
        pool.Return(c);
        Assert.Same(c, await second);
        Assert.Equal(1, _opened);
    }

    [Fact]
    public async Task Rent_WaitsLongerThanQueryWait_Throws()
    {
        var pool = NewPool(size: 1, queryWait: TimeSpan.FromSeconds(5));
        await pool.RentAsync();
        var waiting = pool.RentAsync().AsTask();
        _time.Advance(TimeSpan.FromSeconds(4));
        pool.Sweep(); // the janitor's once-a-second sweep enforces query_wait
        Assert.False(waiting.IsCompleted);
        _time.Advance(TimeSpan.FromSeconds(2));
        pool.Sweep();
        var error = await Assert.ThrowsAsync<PoolWaitTimeoutException>(() => waiting);
        Assert.Equal(TimeSpan.FromSeconds(5), error.Waited);
        Assert.Equal(0, pool.Counts.Waiting);
    }

    [Fact]
    public async Task Waiters_ReusedAfterHandOuts_EachWaitGetsTheServerOnce()
    {
        // A waiter whose hand-out was read becomes this thread's spare for the next wait (no allocation per wait).
        var pool = NewPool(size: 1);
        var c = await pool.RentAsync();
        for (var i = 0; i < 5; i++)
        {
            var waiting = pool.RentAsync();
            Assert.False(waiting.IsCompleted);
            pool.Return(c);
            Assert.True(waiting.IsCompleted);
            Assert.Same(c, await waiting);
        }
        Assert.Equal(new PoolCounts(1, 0, 0, 0), pool.Counts);
    }

    [Fact]
    public async Task Waiter_TimedOut_IsNotReusedWhileStillQueued()
    {
        // A timed-out waiter stays at the front of the queue, claimed, until a hand-out skips it. Were it reused for
        // a later wait, that wait would take the next server ahead of a client that waited longer.
        var pool = NewPool(size: 1, queryWait: TimeSpan.FromSeconds(5));
        var c = await pool.RentAsync();
        var timedOut = pool.RentAsync();
        _time.Advance(TimeSpan.FromSeconds(6));
        pool.Sweep();
        var earlier = pool.RentAsync().AsTask();
        // The timed-out result is read only now: a waiter recycled here would be the next wait's, still queued ahead.
        await Assert.ThrowsAsync<PoolWaitTimeoutException>(async () => await timedOut);
        var later = pool.RentAsync().AsTask();
        pool.Return(c);
        Assert.True(earlier.IsCompleted, "the server went to the later wait, ahead of the earlier one");
        Assert.Same(c, await earlier);
        Assert.False(later.IsCompleted);
        pool.Return(c);
        Assert.Same(c, await later);
        Assert.Equal(new PoolCounts(1, 0, 0, 0), pool.Counts);
    }

    [Fact]
    public async Task Discard_WithWaiter_OpensReplacementForIt()
    {
        var pool = NewPool(size: 1);
        var c = await pool.RentAsync();
        var waiting = pool.RentAsync().AsTask();
        pool.Discard(c, DisconnectReason.ServerGone);
        var replacement = (FakeConnection)await waiting;
        Assert.Equal(2, replacement.Id);
        Assert.Equal(DisconnectReason.ServerGone, ((FakeConnection)c).ClosedWith);
    }

    [Fact]
    public async Task Rent_IdleConnectionUnusable_ClosedAndSkipped()
    {
        var pool = NewPool();
        var a = (FakeConnection)await pool.RentAsync();
        pool.Return(a);
        a.Usable = false;
        var b = (FakeConnection)await pool.RentAsync();
        Assert.NotSame(a, b);
        Assert.Equal(DisconnectReason.Unusable, a.ClosedWith);
        Assert.Equal(new PoolCounts(1, 0, 0, 0), pool.Counts);
    }

    [Fact]
    public async Task Sweep_IdleLongerThanServerIdle_Closes()
    {
        var pool = NewPool(idle: TimeSpan.FromSeconds(60));
        var a = (FakeConnection)await pool.RentAsync();
        pool.Return(a);
        _time.Advance(TimeSpan.FromSeconds(30));
        pool.Sweep();
        Assert.Null(a.ClosedWith);
        _time.Advance(TimeSpan.FromSeconds(31));
        pool.Sweep();
        Assert.Equal(DisconnectReason.IdleTimeout, a.ClosedWith);
        Assert.Equal(new PoolCounts(0, 0, 0, 0), pool.Counts);
    }

    [Fact]
    public async Task Return_OlderThanLifetime_Closed()
    {
        var pool = NewPool(lifetime: TimeSpan.FromMinutes(1));
        var a = (FakeConnection)await pool.RentAsync();
        _time.Advance(TimeSpan.FromMinutes(2));
        pool.Return(a);
        Assert.Equal(DisconnectReason.Lifetime, a.ClosedWith);
        Assert.Equal(new PoolCounts(0, 0, 0, 0), pool.Counts);
    }

    [Fact]
    public async Task DatabaseCap_Reached_EvictsIdleServerOfOtherUser()
    {
        var group = new DatabaseGroup("db", maxConnections: 1);
        var alice = NewPool(group: group, user: "alice");
        var bob = NewPool(group: group, user: "bob");
        var a = (FakeConnection)await alice.RentAsync();
        alice.Return(a);

        var b = await bob.RentAsync();
        Assert.Equal(DisconnectReason.Evicted, a.ClosedWith);
        Assert.Equal(1, group.Count);
        bob.Return(b);
    }

    [Fact]
    public async Task DatabaseCap_Reached_WaitsUntilOtherUserDiscards()
    {
        var group = new DatabaseGroup("db", maxConnections: 1);
        var alice = NewPool(group: group, user: "alice");
        var bob = NewPool(group: group, user: "bob");
        var a = await alice.RentAsync();
        var waiting = bob.RentAsync().AsTask();
        Assert.False(waiting.IsCompleted);
        alice.Discard(a, DisconnectReason.ServerGone);
        Assert.NotNull(await waiting);
        Assert.Equal(1, group.Count);
    }

    [Fact]
    public async Task DatabaseCap_ServerReturnedWhileOtherUserWaits_SlotHandedOver()
    {
        var group = new DatabaseGroup("db", maxConnections: 1);
        var alice = NewPool(group: group, user: "alice");
        var bob = NewPool(group: group, user: "bob");
        var a = (FakeConnection)await alice.RentAsync();
        var waiting = bob.RentAsync().AsTask();     // cap reached, nothing idle to evict: bob waits
        Assert.False(waiting.IsCompleted);

        alice.Return(a);                            // alice has no waiter: her server makes room for bob
        var b = (FakeConnection)await waiting;
        Assert.Equal(DisconnectReason.Evicted, a.ClosedWith);
        Assert.NotSame(a, b);
        Assert.Equal(1, group.Count);
        Assert.Equal(new PoolCounts(0, 0, 0, 0), alice.Counts);
    }

    [Fact]
    public async Task Return_ConnectionNoLongerUsable_Discarded()
    {
        var pool = NewPool();
        var a = (FakeConnection)await pool.RentAsync();
        a.Usable = false;
        pool.Return(a);
        Assert.Equal(DisconnectReason.Unusable, a.ClosedWith);
        Assert.Equal(new PoolCounts(0, 0, 0, 0), pool.Counts);
    }

    [Fact]
    public async Task Connect_Fails_RenterGetsErrorAndSlotFreed()
    {
        var fail = true;
        var pool = NewPool(size: 1, connect: () => fail ? throw new InvalidOperationException("down") : new FakeConnection(99, 0));
        await Assert.ThrowsAsync<InvalidOperationException>(() => pool.RentAsync().AsTask());
        Assert.Equal(new PoolCounts(0, 0, 0, 0), pool.Counts);
        fail = false;
        Assert.Equal(99, ((FakeConnection)await pool.RentAsync()).Id);
    }

    [Fact]
    public async Task Sweep_BelowMinSize_OpensServers()
    {
        var pool = NewPool(size: 5, minSize: 3);
        pool.Sweep();
        await Task.Delay(50);
        Assert.Equal(3, pool.Counts.Idle);
        Assert.Equal(3, _opened);
    }

    private sealed class FakeConnection(int id, long created) : IPooledConnection
    {
        public int Id { get; } = id;
        public bool Usable { get; set; } = true;
        public DisconnectReason? ClosedWith { get; private set; }
        public long CreatedTimestamp { get; } = created;
        public long IdleSinceTimestamp { get; set; }
        public int Generation { get; set; }
        public bool CheckUsable() => Usable && ClosedWith is null;
        public void Close(DisconnectReason reason) => ClosedWith ??= reason;
    }
}
