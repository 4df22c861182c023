// The admin verbs (PAUSE, RESUME, RECONNECT, KILL, SHUTDOWN, WAIT_CLOSE), readiness, and the graceful drain:
// /readyz turns 503 first, the listener stops, idle clients get 57P01, clients in a transaction finish it (up to
// shutdown_timeout), then whatever is left is cut and the pools close.
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Admin;
using Tuki.Pool.Pooler.Pooling;

namespace Tuki.Pool.Pooler.Hosting;

public sealed partial class PoolerRuntime : IPoolerControl
{
    // How often waits (PAUSE, WAIT_CLOSE, drain) look at the pools again: short next to any human or probe.
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(2);

    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _stopRequested;
    private volatile bool _draining;

    /// <summary>Called by SHUTDOWN; the host sets it to stop the application (which calls <see cref="StopAsync"/>).
    /// Default: stop this runtime directly (tests).</summary>
    public Action? ShutdownRequested { get; set; }

    public bool Draining => _draining;

    public void Shutdown()
    {
        _logger.LogInformation("Shutdown requested from the admin console");
        if (ShutdownRequested is { } requested)
            requested();
        else
            _ = Task.Run(StopAsync);
    }

    /// <summary>Graceful stop: see the file comment. Safe to call more than once; later calls wait for the first.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopRequested, 1) != 0)
        {
            await _stopped.Task.ConfigureAwait(false);
            return;
        }
        try
        {
            await DrainAsync().ConfigureAwait(false);
            await _stopping.CancelAsync().ConfigureAwait(false);
            // Clients still waiting for a server hold no registration on _stopping (the hot path has none): end
            // their waits here, before the sessions are closed.
            foreach (var pool in Pools.Pools)
                pool.AbandonWaiters(new OperationCanceledException(_stopping.Token));
            await _listener.CloseSessionsAsync().ConfigureAwait(false);
            await _sweeping.ConfigureAwait(false);
            await _serving.ConfigureAwait(false);
            foreach (var pool in Pools.Pools)
                pool.CloseIdle(DisconnectReason.Shutdown);
            _logger.LogInformation("Tuki.Pool stopped");
        }
        finally
        {
            _stopped.TrySetResult();
        }
    }

    private async Task DrainAsync()
    {
        _draining = true;
        Metrics.SetReady(false);
        _listener.StopAccepting();
        await _accepting.ConfigureAwait(false);
        var timeout = Config.ShutdownTimeout;
        _logger.LogInformation("Draining {Clients} client(s): idle ones now, the others after their transaction (up to {Timeout})",
            _listener.SessionCount, timeout);
        foreach (var session in _listener.Sessions)
            session.BeginDrain();
        var started = TimeProvider.System.GetTimestamp();
        while (_listener.SessionCount > 0 && TimeProvider.System.GetElapsedTime(started) < timeout)
            await Task.Delay(PollInterval).ConfigureAwait(false);
        if (_listener.SessionCount > 0)
            _logger.LogWarning("{Clients} client(s) still in a transaction after shutdown_timeout {Timeout}: cutting them", _listener.SessionCount, timeout);
    }

    /// <summary>/readyz: listening, not draining, and at least one configured database answers on its port.</summary>
    private async Task<(bool Ready, string Why)> ReadinessAsync(CancellationToken cancellationToken)
    {
        if (!_started)
            return (false, "not listening yet");
        if (_draining)
            return (false, "draining: shutting down");
        // A pool holding a server proves its database reachable without a probe.
        foreach (var pool in Pools.Pools)
        {
            var counts = pool.Counts;
            if (counts.Active + counts.Idle > 0 && Config.Databases.ContainsKey(pool.Key.Database))
                return (true, "ready");
        }
        foreach (var database in Config.Databases.Values)
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            probe.CancelAfter(ProbeTimeout);
            try
            {
                await socket.ConnectAsync(database.Host, database.Port, probe.Token).ConfigureAwait(false);
                return (true, "ready");
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                // Try the next database.
            }
        }
        return (false, "no configured database is reachable");
    }

    public async Task PauseAsync(string? database, CancellationToken cancellationToken)
    {
        var groups = GroupsOf(database);
        foreach (var group in groups)
            group.Pause();
        _logger.LogInformation("PAUSE {Database}: waiting for running transactions to finish", database ?? "(all)");
        while (groups.SelectMany(g => g.PoolsSnapshot()).Any(p => p.Counts.Active > 0))
            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
    }

    public void Resume(string? database)
    {
        foreach (var group in GroupsOf(database))
            group.Resume();
        _logger.LogInformation("RESUME {Database}", database ?? "(all)");
    }

    public void Reconnect(string? database)
    {
        foreach (var pool in PoolsOf(database))
            pool.BumpGeneration();
        _logger.LogInformation("RECONNECT {Database}: servers are replaced after their current transaction", database ?? "(all)");
    }

    public void Kill(string database)
    {
        Pools.GroupOf(database).Pause();
        foreach (var session in _listener.Sessions)
            if (session.Database == database && !session.IsAdmin)
                session.Abort();
        foreach (var pool in PoolsOf(database))
            pool.CloseIdle(DisconnectReason.Shutdown);
        _logger.LogWarning("KILL {Database}: its clients were disconnected; new transactions wait for RESUME", database);
    }

    public async Task WaitCloseAsync(string? database, CancellationToken cancellationToken)
    {
        while (_servers.Any(s => (database is null || s.Value.Key.Database == database) && IsRetired(s.Key, s.Value)))
            await Task.Delay(PollInterval, cancellationToken).ConfigureAwait(false);
    }

    private bool IsRetired(Servers.ServerConnection server, TrackedServer tracked)
    {
        var pool = Pools.GetExisting(tracked.Key);
        return pool is null || pool.Retired || server.Generation != pool.Generation;
    }

    private List<DatabaseGroup> GroupsOf(string? database) =>
        database is null ? [.. Config.Databases.Keys.Select(Pools.GroupOf)] : [Pools.GroupOf(database)];

    private IEnumerable<ServerPool> PoolsOf(string? database) =>
        Pools.Pools.Where(p => database is null || p.Key.Database == database);
}
