// Turns the YAML tree of pooler.yaml into the config records: defaults for what is left out, and each
// databases.X.pool merged key by key over the top-level pool. Problems go to the context, never thrown.
using YamlDotNet.RepresentationModel;

namespace Tuki.Pool.Pooler.Configuration;

internal static class ConfigMapper
{
    /// <summary>Always returns a config; where a key was wrong it holds the default, so later checks can run and
    /// report more problems. The loader discards it when the context has errors.</summary>
    public static PoolerConfig Map(YamlNode? root, ConfigReadContext context)
    {
        var document = YamlSection.Root(context, root);

        // listen.port 0 asks the OS for a free port: tests start a pooler per test that way (PoolerHarness).
        var listenSection = document.Section("listen");
        var listen = new ListenConfig(
            listenSection.IpAddress("address") ?? ConfigDefaults.Listen.Address,
            listenSection.Int("port", 0, 65535) ?? ConfigDefaults.Listen.Port,
            listenSection.Bool("reuse_port") ?? ConfigDefaults.Listen.ReusePort)
        {
            Tls = ReadClientTls(listenSection.Section("tls"), context),
            MaxMessageSize = listenSection.Int("max_message_size", 1024, 1024 * 1024 * 1024) ?? 1024 * 1024 * 1024,
            LoginRate = listenSection.Int("login_rate", 0, 1_000_000) ?? 0,
        };

        // metrics.port 0 turns the endpoint off.
        var metricsSection = document.Section("metrics");
        var metrics = new MetricsConfig(
            metricsSection.IpAddress("address") ?? ConfigDefaults.Metrics.Address,
            metricsSection.Int("port", 0, 65535) ?? ConfigDefaults.Metrics.Port);

        var admin = new AdminConfig(document.Section("admin").NameList("users") ?? ConfigDefaults.Admin.Users);
        var authSection = document.Section("auth");
        var auth = new AuthConfig(
            authSection.Choice("type", EnumSpellings.AuthTypes) ?? ConfigDefaults.Auth.Type,
            authSection.String("user"),
            authSection.String("query") ?? AuthConfig.DefaultQuery,
            authSection.Duration("cache_ttl", allowZero: true));
        var pool = ReadPool(document.Section("pool"), ConfigDefaults.Pool);

        var databases = new Dictionary<string, DatabaseConfig>(StringComparer.Ordinal);
        foreach (var (name, section) in document.Section("databases").Named())
            databases[name] = ReadDatabase(name, section, pool, context);

        var users = new Dictionary<string, UserConfig>(StringComparer.Ordinal);
        foreach (var (name, section) in document.Section("users").Named())
            users[name] = ReadUser(name, section, context) with
            {
                MaxConnections = section.Int("max_connections", 0, ConfigDefaults.MaxClientConnections) ?? 0,
                Allow = section.NetworkList("allow"),
            };

        return new PoolerConfig(listen, metrics, admin, auth, pool, databases, users)
        {
            Reload = new ReloadConfig(document.Section("reload").Bool("watch_file") ?? ConfigDefaults.Reload.WatchFile),
            Logging = new LoggingConfig(document.Section("logging").Choice("format", EnumSpellings.LogFormats) ?? ConfigDefaults.Logging.Format,
                document.Section("logging").Bool("connections") ?? ConfigDefaults.Logging.Connections),
            ShutdownTimeout = document.Duration("shutdown_timeout", allowZero: true) ?? ConfigDefaults.ShutdownTimeout,
        };
    }

    // Top level: inherited = the built-in defaults. Under a database: inherited = the top-level pool, so a database
    // that sets only timeouts.query_wait keeps every other value, timeouts included, from pool.
    private static PoolConfig ReadPool(YamlSection section, PoolConfig inherited)
    {
        // Read in the order pooler.yaml lists the keys, so errors come out in file order.
        var mode = section.Choice("mode", EnumSpellings.PoolModes) ?? inherited.Mode;
        var size = section.Int("size", 1, ConfigDefaults.MaxPoolSize) ?? inherited.Size;
        // min_size against size is checked by ConfigValidator, once both sides are known after the merge.
        var minSize = section.Int("min_size", 0, ConfigDefaults.MaxPoolSize) ?? inherited.MinSize;
        var reserveSize = section.Int("reserve_size", 0, ConfigDefaults.MaxPoolSize) ?? inherited.ReserveSize;
        var maxClients = section.Int("max_client_connections", 1, ConfigDefaults.MaxClientConnections) ?? inherited.MaxClientConnections;
        var maxPrepared = section.Int("max_prepared_statements", 0, ConfigDefaults.MaxPreparedStatements) ?? inherited.MaxPreparedStatements;
        var pinning = section.Choice("pinning", EnumSpellings.PinningPolicies) ?? inherited.Pinning;
        var maxPinned = section.Int("max_pinned", 0, ConfigDefaults.MaxPoolSize) ?? inherited.MaxPinned;
        var resetQuery = section.String("reset_query") ?? inherited.ResetQuery;

        var timeouts = section.Section("timeouts");
        var inheritedTimeouts = inherited.Timeouts;
        return new PoolConfig(mode, size, minSize, reserveSize, maxClients, new TimeoutsConfig(
            QueryWait: timeouts.Duration("query_wait", allowZero: true) ?? inheritedTimeouts.QueryWait,
            ServerConnect: timeouts.Duration("server_connect", allowZero: false) ?? inheritedTimeouts.ServerConnect,
            ServerIdle: timeouts.Duration("server_idle", allowZero: true) ?? inheritedTimeouts.ServerIdle,
            ServerLifetime: timeouts.Duration("server_lifetime", allowZero: true) ?? inheritedTimeouts.ServerLifetime,
            ClientLogin: timeouts.Duration("client_login", allowZero: false) ?? inheritedTimeouts.ClientLogin,
            IdleTransaction: timeouts.Duration("idle_transaction", allowZero: true) ?? inheritedTimeouts.IdleTransaction)
        {
            Query = timeouts.Duration("query", allowZero: true) ?? inheritedTimeouts.Query,
        },
            maxPrepared, pinning, maxPinned, resetQuery);
    }

    private static DatabaseConfig ReadDatabase(string name, YamlSection section, PoolConfig pool, ConfigReadContext context) => new(
        Name: name,
        Host: section.RequiredString("host") ?? "",
        Port: section.Int("port", 1, 65535) ?? ConfigDefaults.DatabasePort,
        DbName: section.String("dbname") ?? name,
        MaxConnections: section.Int("max_connections", 0, ConfigDefaults.MaxDatabaseConnections) ?? ConfigDefaults.DatabaseMaxConnections,
        Pool: ReadPool(section.Section("pool"), pool))
    {
        ServerTls = ReadServerTls(section.Section("server_tls"), context),
        Allow = section.NetworkList("allow"),
    };

    // File paths are relative to the folder of pooler.yaml, like password_file.
    private static string? FilePath(YamlSection section, string key, ConfigReadContext context) =>
        section.String(key) is { Length: > 0 } path ? Path.GetFullPath(path, context.BaseDirectory) : null;

    private static ClientTlsConfig ReadClientTls(YamlSection section, ConfigReadContext context) => new(
        section.Choice("mode", EnumSpellings.ClientTlsModes) ?? ClientTlsMode.Disable,
        FilePath(section, "certificate", context),
        FilePath(section, "key", context));

    private static ServerTlsConfig ReadServerTls(YamlSection section, ConfigReadContext context) => new(
        section.Choice("mode", EnumSpellings.ServerTlsModes) ?? ServerTlsConfig.Default.Mode,
        FilePath(section, "ca", context));

    private static UserConfig ReadUser(string name, YamlSection section, ConfigReadContext context)
    {
        var password = section.String("password");
        if (!section.Has("password_file"))
            return new UserConfig(name, password);

        // Two sources for one secret: refuse rather than pick one silently.
        if (section.Has("password"))
        {
            context.Error(section.PathOf("password_file"), "cannot be used together with password; keep only one of them");
            return new UserConfig(name, password);
        }
        var file = section.String("password_file");
        return new UserConfig(name, file is null ? null : PasswordFile.Read(file, section.PathOf("password_file"), context));
    }
}
