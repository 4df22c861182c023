// Composes the pooler from a config: pools, client secrets, the listener, the janitor. Hosted by the generic host
// (PoolerHostedService) in production and directly by integration tests (port 0, config written in the test).
using System.Net;
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Auth;
using Tuki.Pool.Pooler.Clients;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Pooling;
using Tuki.Pool.Pooler.Servers;

namespace Tuki.Pool.Pooler.Hosting;

public sealed class PoolerRuntime : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ClientListener _listener;
    private readonly PoolJanitor _janitor;
    private volatile PoolerConfig _config;
    private Task _accepting = Task.CompletedTask;
    private Task _sweeping = Task.CompletedTask;

    public PoolerRuntime(PoolerConfig config, ILoggerFactory loggerFactory)
    {
        _config = config;
        _logger = loggerFactory.CreateLogger("Tuki.Pool.Pooler");
        Pools = new PoolRegistry(SettingsFor, db => Config.Databases.TryGetValue(db, out var d) ? d.MaxConnections : 0, ConnectorFor);
        var secrets = new ClientSecrets(user => Config.Users.TryGetValue(user, out var u) ? (true, u.Password) : (false, null));
        Clients = new ClientContext(() => Config, Pools, secrets, loggerFactory.CreateLogger("Tuki.Pool.Pooler.Clients"), _stopping.Token);
        _listener = new ClientListener(new IPEndPoint(IPAddress.Parse(config.Listen.Address), config.Listen.Port), Clients);
        _janitor = new PoolJanitor(Pools, loggerFactory.CreateLogger<PoolJanitor>());
    }

    public PoolerConfig Config => _config;
    public PoolRegistry Pools { get; }
    public ClientContext Clients { get; }

    /// <summary>The address clients connect to (the real port when the config asked for port 0).</summary>
    public IPEndPoint LocalEndPoint => _listener.LocalEndPoint;

    public void Start()
    {
        // Derive every user's SCRAM verifier now: the first login then costs no PBKDF2 (a timing difference that
        // would tell known users from unknown ones) and concurrent first logins cannot race on the salt.
        foreach (var user in Config.Users.Keys)
            Clients.Secrets.Scram(user);
        _listener.Start();
        // Both loops run on the thread pool, detached from the caller's synchronization context (a test runner's).
        _accepting = Task.Run(() => _listener.AcceptLoopAsync(_stopping.Token));
        _sweeping = Task.Run(() => _janitor.RunAsync(_stopping.Token));
        _logger.LogInformation("Tuki.Pool listening on {Endpoint} for {Databases} database(s)", LocalEndPoint, Config.Databases.Count);
    }

    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested)
            return;
        await _stopping.CancelAsync().ConfigureAwait(false);
        _listener.StopAccepting();
        await _accepting.ConfigureAwait(false);
        await _listener.CloseSessionsAsync().ConfigureAwait(false);
        await _sweeping.ConfigureAwait(false);
        foreach (var pool in Pools.Pools)
            pool.CloseIdle(DisconnectReason.Shutdown);
        _logger.LogInformation("Tuki.Pool stopped");
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _listener.Dispose();
        _stopping.Dispose();
    }

    private PoolSettings SettingsFor(PoolKey key)
    {
        var pool = Config.Databases[key.Database].Pool;
        return new PoolSettings(pool.Size, pool.MinSize, pool.Timeouts.QueryWait, pool.Timeouts.ServerIdle, pool.Timeouts.ServerLifetime, pool.EffectiveMaxPinned);
    }

    private Func<CancellationToken, Task<IPooledConnection>> ConnectorFor(PoolKey key)
    {
        return async cancellationToken =>
        {
            // Read the config at connect time so a reload's new address applies to new server connections.
            var config = Config;
            var database = config.Databases[key.Database];
            config.Users.TryGetValue(key.User, out var user);
            var target = new ServerTarget(database.Host, database.Port, database.DbName, key.User, user?.Password, database.Pool.Timeouts.ServerConnect)
            {
                Tls = database.ServerTls,
            };
            return await ServerConnection.ConnectAsync(target, cancellationToken).ConfigureAwait(false);
        };
    }
}
