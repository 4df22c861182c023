// Open-loop load: requests start on a fixed schedule (rate per second) whatever the previous ones are
// doing, so a slow system gets a queue, not a politely slower client. Latency is measured from the
// scheduled start, so time spent waiting for a connection (in Npgsql or in the pooler) is counted.
using System.Diagnostics;
using Tuki.Pool.Backend.Data;

namespace Tuki.Pool.Bench.ServerlessLoad;

public sealed class LoadRunner(LoadOptions options, SimulatedInstances instances)
{
    // Events 1-30 exist (the seed); the private ones can be bought too, only the list hides them.
    const int SeededEvents = 30;
    static readonly string[] Tiers = ["general", "general", "general", "vip"];

    public Recorder Recorder { get; } = new();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var total = (long)options.Rate * options.DurationSeconds;
        var interval = TimeSpan.FromSeconds(1.0 / options.Rate);
        var inFlight = new List<Task>(capacity: (int)Math.Min(total, 1_000_000));
        // Bounded: never more requests in flight than client connections exist; beyond that the generator
        // itself would be the queue, and those requests count as shed.
        var maxInFlight = options.Instances * options.PerInstance;
        var running = 0;
        var clock = Stopwatch.StartNew();
        for (long i = 0; i < total && !cancellationToken.IsCancellationRequested; i++)
        {
            var due = interval * i;
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
                await Task.Delay(wait, cancellationToken);
            if (Volatile.Read(ref running) >= maxInFlight)
            {
                Recorder.Shed();
                continue;
            }
            Interlocked.Increment(ref running);
            var scheduled = due;
            inFlight.Add(Task.Run(async () =>
            {
                try
                {
                    await OneRequestAsync(clock, scheduled, cancellationToken);
                }
                finally
                {
                    Interlocked.Decrement(ref running);
                }
            }, CancellationToken.None));
        }
        Recorder.LoadSeconds = clock.Elapsed.TotalSeconds;
        // Bounded drain: whatever has not finished 60 s after the last start counts as an error.
        var all = Task.WhenAll(inFlight);
        if (await Task.WhenAny(all, Task.Delay(TimeSpan.FromSeconds(60), CancellationToken.None)) != all)
            Recorder.Unfinished(inFlight.Count(t => !t.IsCompleted));
        Recorder.WallSeconds = clock.Elapsed.TotalSeconds;
    }

    async Task OneRequestAsync(Stopwatch clock, TimeSpan scheduled, CancellationToken cancellationToken)
    {
        var random = Random.Shared;
        var instance = random.Next(instances.DataSources.Length);
        var checkout = random.NextDouble() < options.CheckoutShare;
        try
        {
            if (checkout)
            {
                var quantity = random.Next(1, 5);
                var result = await instances.Checkouts[instance].CheckoutAsync(
                    random.Next(1, SeededEvents + 1), Tiers[random.Next(Tiers.Length)],
                    $"fan{random.Next(1_000_000)}@example.com", quantity, cancellationToken);
                Recorder.Checkout(clock.Elapsed - scheduled, result, quantity);
            }
            else
            {
                await instances.Catalogs[instance].GetPublicPageAsync(random.Next(1, 4), cancellationToken);
                Recorder.List(clock.Elapsed - scheduled);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Recorder.Error(checkout, clock.Elapsed - scheduled, e);
        }
    }
}
