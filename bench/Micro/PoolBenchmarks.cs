// ServerPool rent/return without sockets: the idle-stack fast path every transaction takes, and the hand-off to a
// waiting client when the pool is exhausted (pgbench -c 50 on a pool of 20 lives on this path).
using BenchmarkDotNet.Attributes;
using Tuki.Pool.Pooler.Pooling;

namespace Tuki.Pool.Bench.Micro;

public class PoolBenchmarks
{
    private ServerPool _pool = null!;
    private ServerPool _exhausted = null!;
    private IPooledConnection _held = null!;

    [GlobalSetup]
    public void Setup()
    {
        var settings = new PoolSettings(Size: 20, MinSize: 0, QueryWait: TimeSpan.FromMinutes(2), ServerIdle: TimeSpan.Zero, ServerLifetime: TimeSpan.Zero);
        _pool = new ServerPool(new PoolKey("db", "u"), settings, new DatabaseGroup("db", 0), _ => Task.FromResult<IPooledConnection>(new IdleConnection()));
        var one = settings with { Size = 1 };
        _exhausted = new ServerPool(new PoolKey("db2", "u"), one, new DatabaseGroup("db2", 0), _ => Task.FromResult<IPooledConnection>(new IdleConnection()));
        _held = _exhausted.RentAsync().AsTask().GetAwaiter().GetResult();
        _pool.Return(_pool.RentAsync().AsTask().GetAwaiter().GetResult()); // one idle server to reuse
    }

    [Benchmark(Baseline = true, Description = "rent idle + return")]
    public async ValueTask RentReturn()
    {
        var connection = await _pool.RentAsync().ConfigureAwait(false);
        _pool.Return(connection);
    }

    [Benchmark(Description = "wait in line, handed the returned server")]
    public async ValueTask WaiterHandOff()
    {
        var waiting = _exhausted.RentAsync();
        _exhausted.Return(_held);
        _held = await waiting.ConfigureAwait(false);
    }

    /// <summary>The trivial connection: always usable, never old.</summary>
    private sealed class IdleConnection : IPooledConnection
    {
        public long CreatedTimestamp { get; } = TimeProvider.System.GetTimestamp();
        public long IdleSinceTimestamp { get; set; }
        public int Generation { get; set; }
        public bool CheckUsable() => true;
        public void Close(DisconnectReason reason) { }
    }
}
