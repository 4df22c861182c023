// Composes the pooler from a config: pools, client secrets, the listener, the janitor, metrics and the admin
// console. Hosted by the generic host (PoolerHostedService) in production and directly by integration tests (port
// 0, config written in the test). Partial files: Control (admin verbs, drain), Reload, View (read-only snapshot).
using System.Collections.Concurrent;
using System.Net;
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Admin;
using Tuki.Pool.Pooler.Auth;
using Tuki.Pool.Pooler.Clients;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Metrics;
using Tuki.Pool.Pooler.Pooling;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Pooler.Servers;

namespace Tuki.Pool.Pooler.Hosting;

public sealed partial class PoolerRuntime : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ClientListener _listener;
    private readonly PoolJanitor _janitor;
    private readonly MetricsEndpoint? _metricsEndpoint;
    private volatile PoolerConfig _config;
    // Every database ever configured, removed ones included: their pools drain with the last known address.
    private readonly ConcurrentDictionary<string, DatabaseConfig> _databases = new(StringComparer.Ordinal);
    // Every open server connection, for SHOW SERVERS and WAIT_CLOSE.
    private readonly ConcurrentDictionary<ServerConnection, TrackedServer> _servers = new();
    private Task _accepting = Task.CompletedTask;
    private Task _sweeping = Task.CompletedTask;
    private Task _serving = Task.CompletedTask;
    private bool _started;

    public PoolerRuntime(PoolerConfig config, ILoggerFactory loggerFactory, string? configPath = null, string configHash = "")
    {
        _config = config;
        _configPath = configPath is null ? null : Path.GetFullPath(configPath);
        foreach (var (name, database) in config.Databases)
            _databases[name] = database;
        _logger = loggerFactory.CreateLogger("Tuki.Pool.Pooler");
        Metrics = new PoolerMetrics(enabled: config.Metrics.Port != 0, () => BuildSnapshot(clientRows: false));
        Metrics.ConfigLoaded(configHash);
        Pools = new PoolRegistry(SettingsFor, db => _databases.TryGetValue(db, out var d) ? d.MaxConnections : 0, ConnectorFor);
        var secrets = new ClientSecrets(user => Config.Users.TryGetValue(user, out var u) ? (true, u.Password) : (false, null));
        Clients = new ClientContext(() => Config, Pools, secrets, loggerFactory.CreateLogger("Tuki.Pool.Pooler.Clients"), _stopping.Token, Metrics);
        Clients.Admin = new AdminCommands(this, this);
        if (config.Auth.User is not null)
            secrets.AuthQuery = new AuthQuery(config.Auth.Query, config.Auth.EffectiveCacheTtl, RunAuthQueryAsync);
        _listener = new ClientListener(new IPEndPoint(IPAddress.Parse(config.Listen.Address), config.Listen.Port), Clients, config.Listen.ReusePort);
        _janitor = new PoolJanitor(Pools, loggerFactory.CreateLogger<PoolJanitor>());
        if (config.Metrics.Port != 0)
        {
            _metricsEndpoint = new MetricsEndpoint(new IPEndPoint(IPAddress.Parse(config.Metrics.Address), config.Metrics.Port),
                Metrics, ReadinessAsync, loggerFactory.CreateLogger("Tuki.Pool.Pooler.Metrics"));
        }
    }

    public PoolerConfig Config => _config;
    public PoolRegistry Pools { get; }
    public ClientContext Clients { get; }
    public PoolerMetrics Metrics { get; }

    /// <summary>The address clients connect to (the real port when the config asked for port 0).</summary>
    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    /// <summary>The metrics endpoint's address, or null when <c>metrics.port</c> is 0.</summary>
    public IPEndPoint? MetricsEndPoint => _metricsEndpoint?.LocalEndPoint;

    public void Start()
    {
        // Derive every user's SCRAM verifier now: the first login then costs no PBKDF2 (a timing difference that
        // would tell known users from unknown ones) and concurrent first logins cannot race on the salt.
        foreach (var user in Config.Users.Keys)
            Clients.Secrets.Scram(user);
        _listener.Start();
        _metricsEndpoint?.Start();
        // The loops run on the thread pool, detached from the caller's synchronization context (a test runner's).
        _accepting = Task.Run(() => _listener.AcceptLoopAsync(_stopping.Token));
        _sweeping = Task.WhenAll(Task.Run(() => _janitor.RunAsync(_stopping.Token)), Task.Run(() => SweepClientsAsync(_stopping.Token)));
        if (_metricsEndpoint is not null)
            _serving = Task.Run(() => _metricsEndpoint.ServeAsync(_stopping.Token));
        StartWatchingFile();
        _started = true;
        Metrics.SetReady(true);
        _logger.LogInformation("Tuki.Pool listening on {Endpoint} for {Databases} database(s); metrics on {Metrics}",
            LocalEndPoint, Config.Databases.Count, MetricsEndPoint?.ToString() ?? "(off)");
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _listener.Dispose();
        _metricsEndpoint?.Dispose();
        _watcher?.Dispose();
        if (_debounce is not null)
            await _debounce.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    /// <summary>Once a second: logins past pool.timeouts.client_login are cut, queries past pool.timeouts.query are
    /// cancelled, clients idle inside a transaction past pool.timeouts.idle_transaction are cut, login-rate buckets
    /// of quiet addresses are forgotten, and a burst's memory is given back once the pooler is quiet
    /// (IdleMemoryTrim).</summary>
    private async Task SweepClientsAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        var trim = IdleMemoryTrim.Enabled ? new IdleMemoryTrim() : null;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                // The sweep is what ends silent logins and idle transactions: one failure must not end the sweep.
                try
                {
                    var now = System.Diagnostics.Stopwatch.GetTimestamp();
                    foreach (var session in _listener.Sessions)
                        session.CheckTimeouts(now);
                    Clients.Logins.Sweep();
                    if (trim?.Tick(_listener.SessionCount) == true)
                        _logger.LogInformation("Quiet after a burst: memory given back in {Milliseconds:F0} ms, GC heap {Before} → {After} MB",
                            trim.LastTrim.Took.TotalMilliseconds, trim.LastTrim.HeapBefore >> 20, trim.LastTrim.HeapAfter >> 20);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    _logger.LogError(ex, "Client sweep failed; trying again in a second");
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>auth_query: one simple query as auth.user on <paramref name="database"/>, through that pair's pool.</summary>
    private async Task<List<string?[]>> RunAuthQueryAsync(string database, string sql, CancellationToken cancellationToken)
    {
        var pool = Pools.GetOrCreate(new PoolKey(database, Config.Auth.User!));
        var server = (ServerConnection)await pool.RentAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (rows, error) = await server.QueryAsync(sql, cancellationToken).ConfigureAwait(false);
            pool.Return(server);
            if (error is not null)
                throw new ServerLoginException(PgErrors.AuthQueryFailed(database, error.Message));
            return rows;
        }
        catch (Exception ex) when (ex is not ServerLoginException)
        {
            pool.Discard(server, DisconnectReason.Error);
            throw;
        }
    }

    private PoolSettings SettingsFor(PoolKey key)
    {
        var pool = _databases[key.Database].Pool;
        return new PoolSettings(pool.Size, pool.MinSize, pool.Timeouts.QueryWait, pool.Timeouts.ServerIdle, pool.Timeouts.ServerLifetime, pool.EffectiveMaxPinned);
    }

    private Func<CancellationToken, Task<IPooledConnection>> ConnectorFor(PoolKey key)
    {
        var stats = Metrics.For(key);
        ServerTarget? last = null;
        return async cancellationToken =>
        {
            // Read the config at connect time so a reload's new address applies to new server connections; a
            // removed database keeps its last address while its pools drain.
            var config = Config;
            var database = _databases[key.Database];
            config.Users.TryGetValue(key.User, out var user);
            // The same target while nothing changed: its SCRAM SaltedPassword cache then spares each new server
            // connection the PBKDF2 work (4,096 iterations by default).
            var target = last is { } t && t.Host == database.Host && t.Port == database.Port && t.Database == database.DbName
                && t.Password == user?.Password && t.ConnectTimeout == database.Pool.Timeouts.ServerConnect && t.Tls == database.ServerTls
                ? t
                : last = new ServerTarget(database.Host, database.Port, database.DbName, key.User, user?.Password, database.Pool.Timeouts.ServerConnect)
                {
                    Tls = database.ServerTls,
                    Keys = () => Clients.Secrets.Keys(key.User),
                };
            ServerConnection server;
            try
            {
                server = await ServerConnection.ConnectAsync(target, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                stats.ServerConnectFailed();
                throw;
            }
            stats.ServerConnected();
            System.Net.EndPoint? local = null;
            try { local = server.LocalEndPoint; } catch (ObjectDisposedException) { }
            _servers[server] = new TrackedServer(key, local as IPEndPoint, DateTime.UtcNow);
            server.Closed = (closed, reason) =>
            {
                _servers.TryRemove(closed, out _);
                stats.ServerDisconnected(reason);
            };
            if (server.IsClosed)
                _servers.TryRemove(server, out _);
            return server;
        };
    }

    private sealed record TrackedServer(PoolKey Key, IPEndPoint? Local, DateTime ConnectedAt);
}
