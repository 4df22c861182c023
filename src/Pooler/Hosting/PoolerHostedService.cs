// Runs the PoolerRuntime inside the generic host: start listening on start, drain and close on stop (SIGTERM,
// SIGINT, admin SHUTDOWN); SIGHUP reloads pooler.yaml.
using System.Runtime.InteropServices;
using Microsoft.Extensions.Hosting;

namespace Tuki.Pool.Pooler.Hosting;

public sealed class PoolerHostedService(PoolerRuntime runtime, IHostApplicationLifetime lifetime) : IHostedService, IDisposable
{
    private PosixSignalRegistration? _hangup;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        runtime.ShutdownRequested = lifetime.StopApplication;
        runtime.Start();
        if (!OperatingSystem.IsWindows())
        {
            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true; // the default action of SIGHUP ends the process
                runtime.Reload("SIGHUP");
            });
        }
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => runtime.StopAsync();

    public void Dispose() => _hangup?.Dispose();
}
