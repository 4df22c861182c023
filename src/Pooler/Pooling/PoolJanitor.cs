// One periodic sweep over all pools enforces server_idle, server_lifetime and min_size (PgBouncer's janitor).
using Microsoft.Extensions.Logging;

namespace Tuki.Pool.Pooler.Pooling;

public sealed class PoolJanitor(PoolRegistry registry, ILogger<PoolJanitor> logger, TimeProvider? time = null)
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var started = _time.GetTimestamp();
                foreach (var pool in registry.Pools)
                {
                    try { pool.Sweep(); }
                    catch (Exception ex) { logger.LogError(ex, "Sweep of pool {Pool} failed", pool.Key); }
                }
                var took = _time.GetElapsedTime(started);
                if (took > Interval)
                    logger.LogWarning("Pool sweep took {Elapsed} ms, longer than its {Interval} ms interval", took.TotalMilliseconds, Interval.TotalMilliseconds);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
