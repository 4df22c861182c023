// The whole of pooler.yaml as immutable, validated records (YARP's *Config: what the user wrote,
// after defaults and per-database overrides are merged). Built only by YamlConfigLoader.
namespace Tuki.Pool.Pooler.Configuration;

/// <summary>Root of <c>pooler.yaml</c>. Dictionaries are keyed by the YAML key (database name, user name).</summary>
public sealed record PoolerConfig(
    ListenConfig Listen,
    MetricsConfig Metrics,
    AdminConfig Admin,
    AuthConfig Auth,
    PoolConfig Pool,
    IReadOnlyDictionary<string, DatabaseConfig> Databases,
    IReadOnlyDictionary<string, UserConfig> Users)
{
    /// <summary><c>reload</c>.</summary>
    public ReloadConfig Reload { get; init; } = ConfigDefaults.Reload;

    /// <summary><c>logging</c>.</summary>
    public LoggingConfig Logging { get; init; } = ConfigDefaults.Logging;

    /// <summary><c>shutdown_timeout</c>: how long a graceful shutdown lets open transactions finish.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = ConfigDefaults.ShutdownTimeout;
}

/// <summary><c>reload</c>: what else besides SIGHUP and the admin RELOAD reloads the file.</summary>
public sealed record ReloadConfig(bool WatchFile);

/// <summary>Console log line format.</summary>
public enum LogFormat { Text, Json }

/// <summary><c>logging</c>.</summary>
/// <summary><c>logging</c>. <c>Connections</c>: one line per client login and disconnect (PgBouncer's log_connections
/// and log_disconnections); off for fleets that reconnect all the time, where those lines are most of the log.</summary>
public sealed record LoggingConfig(LogFormat Format, bool Connections = true);

/// <summary><c>listen</c>: where clients connect.</summary>
public sealed record ListenConfig(string Address, int Port, bool ReusePort = false)
{
    /// <summary><c>listen.tls</c>.</summary>
    public ClientTlsConfig Tls { get; init; } = ClientTlsConfig.Disabled;

    /// <summary><c>listen.max_message_size</c>: the largest message a client may send (PostgreSQL's limit: 1 GiB).</summary>
    public int MaxMessageSize { get; init; } = 1024 * 1024 * 1024;

    /// <summary><c>listen.login_rate</c>: logins per second allowed from one client address (burst of as many); 0 = no limit.</summary>
    public int LoginRate { get; init; }
}

/// <summary><c>listen.tls.mode</c>: disable (SSLRequest answered 'N'), allow (TLS for clients that ask), require
/// (clients that do not ask are refused).</summary>
public enum ClientTlsMode { Disable, Allow, Require }

/// <summary><c>listen.tls</c>: PEM certificate (chain) and private key files, as absolute paths.</summary>
public sealed record ClientTlsConfig(ClientTlsMode Mode, string? Certificate, string? Key)
{
    public static readonly ClientTlsConfig Disabled = new(ClientTlsMode.Disable, null, null);
}

/// <summary><c>databases.X.server_tls.mode</c>, as libpq's sslmode.</summary>
public enum ServerTlsMode { Disable, Prefer, Require, VerifyCa, VerifyFull }

/// <summary><c>databases.X.server_tls</c>: <see cref="Ca"/> is a PEM file of trusted roots for verify-ca/verify-full
/// (absolute path; null = the system's roots).</summary>
public sealed record ServerTlsConfig(ServerTlsMode Mode, string? Ca)
{
    public static readonly ServerTlsConfig Default = new(ServerTlsMode.Prefer, null);
}

/// <summary><c>metrics</c>: the Prometheus endpoint (<c>port: 0</c> disables it).</summary>
public sealed record MetricsConfig(string Address, int Port);

/// <summary><c>admin</c>: users allowed into the admin console.</summary>
public sealed record AdminConfig(IReadOnlyList<string> Users);

/// <summary>How clients authenticate to the pooler.</summary>
public enum AuthType { ScramSha256, Md5, Trust }

/// <summary><c>auth</c>.</summary>
/// <param name="User">auth_query: the user the lookup runs as (its password in users); null = no auth_query.</param>
/// <param name="Query">auth_query: SQL returning (user name, SCRAM verifier) for the user given as $1.</param>
public sealed record AuthConfig(AuthType Type, string? User = null, string Query = AuthConfig.DefaultQuery, TimeSpan? CacheTtl = null)
{
    /// <summary>A SECURITY DEFINER function over pg_shadow, so auth.user needs no superuser rights (SQL in pooler.yaml).</summary>
    public const string DefaultQuery = "SELECT usename, passwd FROM tuki_pool.user_lookup($1)";

    public TimeSpan EffectiveCacheTtl => CacheTtl ?? TimeSpan.FromSeconds(60);
}

/// <summary><c>pool.mode</c>: when a server goes back to the pool.</summary>
public enum PoolMode { Transaction, Session, Statement }

/// <summary><c>pool.timeouts</c>. <see cref="TimeSpan.Zero"/> means "no limit" where the key allows 0.</summary>
public sealed record TimeoutsConfig(
    TimeSpan QueryWait,
    TimeSpan ServerConnect,
    TimeSpan ServerIdle,
    TimeSpan ServerLifetime,
    TimeSpan ClientLogin,
    TimeSpan IdleTransaction)
{
    /// <summary><c>pool.timeouts.query</c>: a query running longer is cancelled; zero = no limit.</summary>
    public TimeSpan Query { get; init; }
}

/// <summary><c>pool.pinning</c>: what a client gets when it uses session state that transaction pooling cannot
/// share (LISTEN, session advisory locks, temp tables, WITH HOLD cursors, SQL PREPARE).</summary>
public enum PinningPolicy { Pin, Error }

/// <summary><c>pool</c> (defaults) or <c>databases.X.pool</c> (defaults with the override applied).
/// <see cref="MaxPinned"/> null means "half of <see cref="Size"/>, at least 1".</summary>
public sealed record PoolConfig(
    PoolMode Mode,
    int Size,
    int MinSize,
    int ReserveSize,
    int MaxClientConnections,
    TimeoutsConfig Timeouts,
    int MaxPreparedStatements = 200,
    PinningPolicy Pinning = PinningPolicy.Pin,
    int? MaxPinned = null,
    string ResetQuery = "DISCARD ALL")
{
    /// <summary>Pinned clients allowed at once per pool, so they can never take every server.</summary>
    public int EffectiveMaxPinned => MaxPinned ?? Math.Max(1, Size / 2);
}

/// <summary><c>databases.X</c>. <see cref="Pool"/> is the effective pool settings for this database.</summary>
public sealed record DatabaseConfig(
    string Name,
    string Host,
    int Port,
    string DbName,
    int MaxConnections,
    PoolConfig Pool)
{
    /// <summary><c>databases.X.server_tls</c>.</summary>
    public ServerTlsConfig ServerTls { get; init; } = ServerTlsConfig.Default;

    /// <summary><c>databases.X.allow</c>: client networks allowed to this database; null = any.</summary>
    public IReadOnlyList<System.Net.IPNetwork>? Allow { get; init; }
}

/// <summary><c>users.X</c>. <see cref="Password"/> is a plain password, an md5 hash (<c>md5...</c>)
/// or a SCRAM verifier (<c>SCRAM-SHA-256$iter:salt$StoredKey:ServerKey</c>), after <c>${ENV}</c> expansion.</summary>
public sealed record UserConfig(string Name, string? Password)
{
    /// <summary><c>users.X.max_connections</c>: client connections of this user at once; 0 = no limit.</summary>
    public int MaxConnections { get; init; }

    /// <summary><c>users.X.allow</c>: client networks this user may connect from; null = any.</summary>
    public IReadOnlyList<System.Net.IPNetwork>? Allow { get; init; }

    // Never print the secret, even in a debugger or a log line that formats the record.
    public override string ToString() => $"UserConfig {{ Name = {Name}, Password = {(Password is null ? "<none>" : "<redacted>")} }}";
}
