// Runs the PoolerRuntime inside the generic host: start listening on start, drain and close on stop.
using Microsoft.Extensions.Hosting;

namespace Tuki.Pool.Pooler.Hosting;

public sealed class PoolerHostedService(PoolerRuntime runtime) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        runtime.Start();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => runtime.StopAsync();
}
