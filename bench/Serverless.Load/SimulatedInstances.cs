// N serverless backend instances, each with its own NpgsqlDataSource configured exactly like the backend
// (TicketsDataSource), Maximum = Minimum Pool Size = connections per instance. The warm-up opens every
// instance's connections at once and gives them back, so all N x per-instance client connections are
// open for the whole run, as a fleet of busy instances would hold them.
using System.Diagnostics;
using Npgsql;
using Tuki.Pool.Backend.Data;

namespace Tuki.Pool.Bench.ServerlessLoad;

public sealed class SimulatedInstances : IAsyncDisposable
{
    public SimulatedInstances(LoadOptions options)
    {
        var builder = new NpgsqlConnectionStringBuilder(options.Target)
        {
            MaxPoolSize = options.PerInstance,
            // Kept through the run: the pool never prunes below its minimum.
            MinPoolSize = options.PerInstance,
            Timeout = 15,
        };
        DataSources = Enumerable.Range(0, options.Instances).Select(_ => TicketsDataSource.Create(builder.ConnectionString)).ToArray();
        Catalogs = DataSources.Select(d => new EventCatalog(d)).ToArray();
        Checkouts = DataSources.Select(d => new CheckoutStore(d)).ToArray();
        PerInstance = options.PerInstance;
    }

    public NpgsqlDataSource[] DataSources { get; }
    public EventCatalog[] Catalogs { get; }
    public CheckoutStore[] Checkouts { get; }
    int PerInstance { get; }

    public sealed record WarmUpResult(int Opened, int Failed, IReadOnlyDictionary<string, int> FailuresByKind, TimeSpan Elapsed);

    /// <summary>Opens every instance's connections (all of one instance at the same time, at most
    /// <paramref name="parallelism"/> logins in flight overall), then returns them to their pools.</summary>
    public async Task<WarmUpResult> WarmUpAsync(int parallelism, CancellationToken cancellationToken)
    {
        var stopwatch = Stopwatch.StartNew();
        var gate = new SemaphoreSlim(parallelism);
        var failures = new Dictionary<string, int>();
        var opened = 0;
        await Task.WhenAll(DataSources.Select(async dataSource =>
        {
            var held = await Task.WhenAll(Enumerable.Range(0, PerInstance).Select(async _ =>
            {
                await gate.WaitAsync(cancellationToken);
                try
                {
                    var connection = await dataSource.OpenConnectionAsync(cancellationToken);
                    Interlocked.Increment(ref opened);
                    return connection;
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException)
                {
                    lock (failures)
                        failures[ErrorKind.Of(e)] = failures.GetValueOrDefault(ErrorKind.Of(e)) + 1;
                    return null;
                }
                finally
                {
                    gate.Release();
                }
            }));
            foreach (var connection in held)
            {
                if (connection is not null)
                    await connection.DisposeAsync(); // back to this instance's pool, still open
            }
        }));
        return new WarmUpResult(opened, DataSources.Length * PerInstance - opened, failures, stopwatch.Elapsed);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var dataSource in DataSources)
            await dataSource.DisposeAsync();
    }
}
