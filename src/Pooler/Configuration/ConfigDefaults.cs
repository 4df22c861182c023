// The value of every key pooler.yaml leaves out, and the ranges the loader accepts: one place, mirrored by the
// comments of the example pooler.yaml.
namespace Tuki.Pool.Pooler.Configuration;

internal static class ConfigDefaults
{
    public static readonly ListenConfig Listen = new("0.0.0.0", 6432);
    public static readonly MetricsConfig Metrics = new("0.0.0.0", 9127);
    public static readonly AdminConfig Admin = new([]);
    public static readonly AuthConfig Auth = new(AuthType.ScramSha256);
    public static readonly ReloadConfig Reload = new(WatchFile: false);
    public static readonly LoggingConfig Logging = new(LogFormat.Text, Connections: true);
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(30);

    // 0 means "no limit" for the keys that allow it (query_wait, server_idle, server_lifetime, idle_transaction).
    public static readonly TimeoutsConfig Timeouts = new(
        QueryWait: TimeSpan.FromSeconds(120),
        ServerConnect: TimeSpan.FromSeconds(5),
        ServerIdle: TimeSpan.FromSeconds(600),
        ServerLifetime: TimeSpan.FromSeconds(3600),
        ClientLogin: TimeSpan.FromSeconds(15),
        IdleTransaction: TimeSpan.Zero);

    public static readonly PoolConfig Pool = new(
        PoolMode.Transaction, Size: 20, MinSize: 0, ReserveSize: 0, MaxClientConnections: 10_000, Timeouts);

    public const int DatabasePort = 5432;

    /// <summary><c>databases.X.max_connections</c> default: no cap beyond the pools' own sizes.</summary>
    public const int DatabaseMaxConnections = 0;

    // Upper bounds: far above any sane setting, low enough that a stray extra digit is caught.
    public const int MaxPoolSize = 10_000;
    public const int MaxPreparedStatements = 100_000;
    public const int MaxClientConnections = 1_000_000;
    public const int MaxDatabaseConnections = 1_000_000;

    /// <summary>The virtual database of the admin console (<c>psql -d pooler</c>); no real database may take it.</summary>
    public const string AdminDatabaseName = "pooler";
}
