// Every Prometheus instrument of the pooler, in one file, under the prefix tukipool_. Hot-path numbers are kept as
// plain counters on PoolStats and copied into the Prometheus counters at scrape time; gauges are computed at scrape
// time from the pools (AddBeforeCollectCallback). Only the three histograms are observed directly, through
// children resolved once per pool. Each pooler has its own registry, so several in one process (tests) never mix.
using Prometheus;
using Tuki.Pool.Pooler.Pooling;

namespace Tuki.Pool.Pooler.Metrics;

public sealed class PoolerMetrics
{
    private const string Prefix = "tukipool_";
    private static readonly string[] PoolLabels = ["database", "user"];

    // Buckets: 100 µs to ~13 s in ×2 steps (18 buckets): pool waits and short OLTP queries sit at the low end,
    // the alert thresholds (wait p95 > 100 ms) fall in the middle.
    private static readonly double[] LatencyBuckets = Histogram.ExponentialBuckets(0.0001, 2, 18);

    private readonly System.Collections.Concurrent.ConcurrentDictionary<PoolKey, PoolStats> _stats = new();
    private readonly Func<PoolerSnapshot>? _snapshot;
    private readonly Lock _scrapeSync = new();
    private HashSet<string[]> _gaugeLabels = new(LabelsComparer.Instance);
    private string _loadedHash = "";

    /// <summary><paramref name="enabled"/> false: no registry, no histograms; PoolStats still counts for SHOW STATS.</summary>
    public PoolerMetrics(bool enabled, Func<PoolerSnapshot>? snapshot = null)
    {
        Enabled = enabled;
        _snapshot = snapshot;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var f = Prometheus.Metrics.WithCustomRegistry(Registry);
        var pool = new GaugeConfiguration { LabelNames = PoolLabels };
        ClientConnections = f.CreateGauge(Prefix + "client_connections", "Client connections by state (active: holds a server; waiting: waits for one; idle: between transactions; pinned: keeps its server until it disconnects).", ["database", "user", "state"]);
        ClientsLoggingIn = f.CreateGauge(Prefix + "clients_logging_in", "Client connections still in startup or authentication.");
        ServerConnections = f.CreateGauge(Prefix + "server_connections", "Server connections by state (active: bound to a client; idle: in the pool; login: connecting; testing: held by the pooler for a check or a rollback).", ["database", "user", "state"]);
        PoolSize = f.CreateGauge(Prefix + "pool_size", "Configured pool size (pool.size) of the pool.", pool);
        PoolMinSize = f.CreateGauge(Prefix + "pool_min_size", "Configured pool.min_size of the pool.", pool);
        PoolMaxWait = f.CreateGauge(Prefix + "pool_max_wait_seconds", "How long the oldest waiting client of the pool has waited so far.", pool);
        DatabaseMaxConnections = f.CreateGauge(Prefix + "database_max_connections", "Configured databases.X.max_connections (0 = no cap).", ["database"]);
        DatabaseServerConnections = f.CreateGauge(Prefix + "database_server_connections", "Server connections open or opening for the database, all users.", ["database"]);
        DatabasePaused = f.CreateGauge(Prefix + "database_paused", "1 while the database is paused (PAUSE, KILL) until RESUME.", ["database"]);

        var histogram = new HistogramConfiguration { LabelNames = PoolLabels, Buckets = LatencyBuckets };
        WaitSeconds = f.CreateHistogram(Prefix + "wait_seconds", "Time a transaction waited for a server connection (0 when one was idle).", histogram);
        TransactionSeconds = f.CreateHistogram(Prefix + "transaction_duration_seconds", "Time a transaction held its server, from bind to release.", histogram);
        QuerySeconds = f.CreateHistogram(Prefix + "query_duration_seconds", "Time from a request (Query, Sync, FunctionCall) to its ReadyForQuery.", histogram);

        Transactions = f.CreateCounter(Prefix + "transactions_total", "Transactions served (server bound then released).", PoolLabels);
        Queries = f.CreateCounter(Prefix + "queries_total", "Requests served: each Query, Sync or FunctionCall answered by ReadyForQuery.", PoolLabels);
        ReceivedBytes = f.CreateCounter(Prefix + "client_received_bytes_total", "Bytes received from clients.", PoolLabels);
        SentBytes = f.CreateCounter(Prefix + "client_sent_bytes_total", "Bytes sent to clients.", PoolLabels);
        Logins = f.CreateCounter(Prefix + "client_logins_total", "Successful client logins.", PoolLabels);
        Errors = f.CreateCounter(Prefix + "errors_total", "Errors sent to clients, by who raised them (kind: server, pooler, login) and SQLSTATE class.", ["database", "user", "kind", "class"]);
        Prepared = f.CreateCounter(Prefix + "prepared_statements_total", "Prepared-statement cache lookups and evictions (result: hit, miss, eviction).", ["database", "user", "result"]);
        ServerConnects = f.CreateCounter(Prefix + "server_connects_total", "Server connection attempts (result: success, failure).", ["database", "user", "result"]);
        ServerDisconnects = f.CreateCounter(Prefix + "server_disconnects_total", "Server connections closed, by reason.", ["database", "user", "reason"]);
        Reloads = f.CreateCounter(Prefix + "config_reloads_total", "Configuration reloads (result: success, failure).", ["result"]);
        ConfigInfo = f.CreateGauge(Prefix + "config_info", "1 for the SHA-256 of the pooler.yaml currently applied.", ["hash"]);
        LastReload = f.CreateGauge(Prefix + "config_last_reload_timestamp_seconds", "When the configuration was last loaded successfully (Unix time).");
        Ready = f.CreateGauge(Prefix + "ready", "1 from start until a drain begins, then 0 (/readyz also checks that a database answers).");

        if (enabled)
            Registry.AddBeforeCollectCallback(UpdateFromSnapshot);
    }

    public bool Enabled { get; }
    public CollectorRegistry Registry { get; }

    internal Gauge ClientConnections { get; }
    internal Gauge ClientsLoggingIn { get; }
    internal Gauge ServerConnections { get; }
    internal Gauge PoolSize { get; }
    internal Gauge PoolMinSize { get; }
    internal Gauge PoolMaxWait { get; }
    internal Gauge DatabaseMaxConnections { get; }
    internal Gauge DatabaseServerConnections { get; }
    internal Gauge DatabasePaused { get; }
    internal Histogram WaitSeconds { get; }
    internal Histogram TransactionSeconds { get; }
    internal Histogram QuerySeconds { get; }
    internal Counter Transactions { get; }
    internal Counter Queries { get; }
    internal Counter ReceivedBytes { get; }
    internal Counter SentBytes { get; }
    internal Counter Logins { get; }
    internal Counter Errors { get; }
    internal Counter Prepared { get; }
    internal Counter ServerConnects { get; }
    internal Counter ServerDisconnects { get; }
    internal Counter Reloads { get; }
    internal Gauge ConfigInfo { get; }
    internal Gauge LastReload { get; }
    internal Gauge Ready { get; }

    /// <summary>The counters of a pool, created on first use and kept for the life of the process.</summary>
    public PoolStats For(PoolKey key) => _stats.GetOrAdd(key, k => new PoolStats(k, Enabled ? this : null));

    public IReadOnlyCollection<PoolStats> AllStats => (IReadOnlyCollection<PoolStats>)_stats.Values;

    internal void Error(string database, string user, ErrorKind kind, string sqlState)
    {
        Errors.WithLabels(database, user, KindLabel(kind), SqlStateClass.Of(sqlState)).Inc();
    }

    /// <summary>Login errors before a pool is known: labelled only when the (database, user) pair is configured, so
    /// probing random names cannot create unbounded label sets.</summary>
    public void LoginError(string database, string user, string sqlState)
    {
        if (Enabled)
            Error(database, user, ErrorKind.Login, sqlState);
    }

    public void ReloadSucceeded(string hash)
    {
        Reloads.WithLabels("success").Inc();
        ConfigLoaded(hash);
    }

    public void ReloadFailed() => Reloads.WithLabels("failure").Inc();

    /// <summary>Records the hash of the configuration now applied (first load and each successful reload).</summary>
    public void ConfigLoaded(string hash)
    {
        if (hash.Length == 0)
            return; // a config built in memory (tests): no file, no hash to show
        lock (_scrapeSync)
        {
            if (_loadedHash.Length > 0 && _loadedHash != hash)
                ConfigInfo.RemoveLabelled(_loadedHash);
            _loadedHash = hash;
            ConfigInfo.WithLabels(hash).Set(1);
        }
        LastReload.SetToCurrentTimeUtc();
    }

    public void SetReady(bool ready) => Ready.Set(ready ? 1 : 0);

    /// <summary>Writes the text exposition format (what /metrics serves).</summary>
    public Task ExportAsync(Stream destination, CancellationToken cancellationToken) =>
        Registry.CollectAndExportAsTextAsync(destination, cancellationToken);

    private void UpdateFromSnapshot()
    {
        if (_snapshot is null)
            return;
        var snapshot = _snapshot();
        lock (_scrapeSync)
        {
            var seen = new HashSet<string[]>(LabelsComparer.Instance);
            foreach (var p in snapshot.Pools)
            {
                string db = p.Key.Database, user = p.Key.User;
                SetGauge(ClientConnections, seen, p.ClientsActive, db, user, "active");
                SetGauge(ClientConnections, seen, p.ClientsWaiting, db, user, "waiting");
                SetGauge(ClientConnections, seen, p.ClientsIdle, db, user, "idle");
                SetGauge(ClientConnections, seen, p.ClientsPinned, db, user, "pinned");
                SetGauge(ServerConnections, seen, p.ServersActive, db, user, "active");
                SetGauge(ServerConnections, seen, p.ServersIdle, db, user, "idle");
                SetGauge(ServerConnections, seen, p.ServersLogin, db, user, "login");
                SetGauge(ServerConnections, seen, p.ServersTesting, db, user, "testing");
                SetGauge(PoolSize, seen, p.Size, db, user);
                SetGauge(PoolMinSize, seen, p.MinSize, db, user);
                SetGauge(PoolMaxWait, seen, p.MaxWaitSeconds, db, user);
            }
            foreach (var d in snapshot.Databases)
            {
                SetGauge(DatabaseMaxConnections, seen, d.MaxConnections, d.Name);
                SetGauge(DatabaseServerConnections, seen, d.CurrentConnections, d.Name);
                SetGauge(DatabasePaused, seen, d.Paused ? 1 : 0, d.Name);
            }
            // Pools and databases gone since the last scrape: drop their series instead of freezing old values.
            foreach (var stale in _gaugeLabels)
                if (!seen.Contains(stale))
                    GaugeOf(stale).RemoveLabelled(stale[1..]);
            _gaugeLabels = seen;
            ClientsLoggingIn.Set(snapshot.ClientsLoggingIn);

            foreach (var s in _stats.Values)
            {
                string db = s.Key.Database, user = s.Key.User;
                Transactions.WithLabels(db, user).IncTo(s.Transactions);
                Queries.WithLabels(db, user).IncTo(s.Queries);
                ReceivedBytes.WithLabels(db, user).IncTo(s.BytesReceived);
                SentBytes.WithLabels(db, user).IncTo(s.BytesSent);
                Logins.WithLabels(db, user).IncTo(s.Logins);
                Prepared.WithLabels(db, user, "hit").IncTo(s.PreparedHits);
                Prepared.WithLabels(db, user, "miss").IncTo(s.PreparedMisses);
                Prepared.WithLabels(db, user, "eviction").IncTo(s.PreparedEvictions);
                ServerConnects.WithLabels(db, user, "success").IncTo(s.ServerConnects);
                ServerConnects.WithLabels(db, user, "failure").IncTo(s.ServerConnectFailures);
            }
        }
    }

    // The gauge a remembered label set belongs to is its first element (the gauge's name).
    private readonly Dictionary<string, Gauge> _gaugesByName = [];

    private void SetGauge(Gauge gauge, HashSet<string[]> seen, double value, params string[] labels)
    {
        gauge.WithLabels(labels).Set(value);
        _gaugesByName[gauge.Name] = gauge;
        seen.Add([gauge.Name, .. labels]);
    }

    private Gauge GaugeOf(string[] key) => _gaugesByName[key[0]];

    private static string KindLabel(ErrorKind kind) => kind switch
    {
        ErrorKind.Server => "server",
        ErrorKind.Pooler => "pooler",
        _ => "login",
    };

    /// <summary>snake_case label for a disconnect reason (idle_timeout, server_gone, ...).</summary>
    public static string ReasonLabel(DisconnectReason reason) => reason switch
    {
        DisconnectReason.IdleTimeout => "idle_timeout",
        DisconnectReason.Lifetime => "lifetime",
        DisconnectReason.Unusable => "unusable",
        DisconnectReason.ServerGone => "server_gone",
        DisconnectReason.ResetFailed => "reset_failed",
        DisconnectReason.Evicted => "evicted",
        DisconnectReason.Shutdown => "shutdown",
        DisconnectReason.Retired => "retired",
        _ => "error",
    };

    private sealed class LabelsComparer : IEqualityComparer<string[]>
    {
        public static readonly LabelsComparer Instance = new();
        public bool Equals(string[]? x, string[]? y) => x is not null && y is not null && x.AsSpan().SequenceEqual(y);
        public int GetHashCode(string[] obj)
        {
            var hash = new HashCode();
            foreach (var s in obj) hash.Add(s);
            return hash.ToHashCode();
        }
    }
}
