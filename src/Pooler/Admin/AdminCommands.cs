// The admin console's commands: parse one statement, run it against the read-only view or the control interface,
// write its result. Column names and order follow PgBouncer's (1.18+) where the concept matches; README.md lists
// the differences. Unknown commands are a 42601 error, as a syntax error would be in PostgreSQL.
using System.Buffers;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Metrics;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Pooler.Admin;

public sealed class AdminCommands(IPoolerView view, IPoolerControl control)
{
    public static string Version => "Tuki.Pool " + (typeof(AdminCommands).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    /// <summary>Runs one statement (no trailing ';'); writes its result or throws <see cref="PgErrorException"/>.</summary>
    public async Task ExecuteAsync(string statement, IBufferWriter<byte> output, CancellationToken cancellationToken)
    {
        var words = statement.Split([' ', '\t', '\r', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var verb = words.Length == 0 ? "" : words[0].ToUpperInvariant();
        var arg = words.Length > 1 ? Unquote(words[1]) : null;
        switch (verb)
        {
            case "SHOW" when arg is not null && words.Length == 2:
                Show(arg.ToUpperInvariant(), statement, output);
                return;
            case "PAUSE":
                RequireKnown(arg);
                await control.PauseAsync(arg, cancellationToken).ConfigureAwait(false);
                ResultSetWriter.WriteCommandComplete(output, "PAUSE");
                return;
            case "RESUME":
                RequireKnown(arg);
                control.Resume(arg);
                ResultSetWriter.WriteCommandComplete(output, "RESUME");
                return;
            case "RECONNECT":
                RequireKnown(arg);
                control.Reconnect(arg);
                ResultSetWriter.WriteCommandComplete(output, "RECONNECT");
                return;
            case "RELOAD" when words.Length == 1:
                var errors = control.Reload("admin RELOAD");
                if (errors.Count > 0)
                    throw new PgErrorException(PgErrors.ReloadFailed(string.Join("; ", errors)));
                ResultSetWriter.WriteCommandComplete(output, "RELOAD");
                return;
            case "KILL" when arg is not null:
                RequireKnown(arg);
                control.Kill(arg);
                ResultSetWriter.WriteCommandComplete(output, "KILL");
                return;
            case "SHUTDOWN" when words.Length == 1:
                control.Shutdown();
                ResultSetWriter.WriteCommandComplete(output, "SHUTDOWN");
                return;
            case "WAIT_CLOSE":
                RequireKnown(arg);
                await control.WaitCloseAsync(arg, cancellationToken).ConfigureAwait(false);
                ResultSetWriter.WriteCommandComplete(output, "WAIT_CLOSE");
                return;
            default:
                throw new PgErrorException(PgErrors.AdminUnknownCommand(statement));
        }
    }

    private void Show(string what, string statement, IBufferWriter<byte> output)
    {
        switch (what)
        {
            case "POOLS": ShowPools(output); break;
            case "CLIENTS": ShowClients(output); break;
            case "SERVERS": ShowServers(output); break;
            case "STATS": ShowStats(output); break;
            case "DATABASES": ShowDatabases(output); break;
            case "CONFIG": ShowConfig(output); break;
            case "VERSION": ResultSetWriter.Write(output, [new Column("version")], [[Version]]); break;
            default: throw new PgErrorException(PgErrors.AdminUnknownCommand(statement));
        }
    }

    private static readonly Column[] PoolColumns =
    [
        new("database"), new("user"), new("cl_active", true), new("cl_waiting", true),
        new("cl_active_cancel_req", true), new("cl_waiting_cancel_req", true),
        new("sv_active", true), new("sv_active_cancel", true), new("sv_being_canceled", true),
        new("sv_idle", true), new("sv_used", true), new("sv_tested", true), new("sv_login", true),
        new("maxwait", true), new("maxwait_us", true), new("pool_mode"),
        // Tuki.Pool's own, after PgBouncer's: cl_active above is every logged-in client not waiting, as in PgBouncer.
        new("cl_idle", true), new("cl_pinned", true), new("pool_size", true), new("paused", true),
    ];

    private void ShowPools(IBufferWriter<byte> output)
    {
        var snapshot = view.Snapshot();
        ResultSetWriter.Write(output, PoolColumns, snapshot.Pools.OrderBy(p => p.Key.Database).ThenBy(p => p.Key.User).Select(p => new object?[]
        {
            p.Key.Database, p.Key.User,
            (long)(p.ClientsActive + p.ClientsIdle + p.ClientsPinned), (long)p.ClientsWaiting, 0L, 0L,
            (long)p.ServersActive, 0L, 0L, (long)p.ServersIdle, 0L, (long)p.ServersTesting, (long)p.ServersLogin,
            (long)Math.Floor(p.MaxWaitSeconds), (long)(p.MaxWaitSeconds % 1 * 1_000_000), p.Mode,
            (long)p.ClientsIdle, (long)p.ClientsPinned, (long)p.Size, p.Paused,
        }));
    }

    private static readonly Column[] ClientColumns =
    [
        new("type"), new("user"), new("database"), new("state"), new("addr"), new("port", true),
        new("local_addr"), new("local_port", true), new("connect_time"), new("request_time"),
        new("wait", true), new("wait_us", true), new("close_needed", true), new("ptr"), new("link"),
        new("remote_pid", true), new("tls"), new("application_name"),
    ];

    private void ShowClients(IBufferWriter<byte> output)
    {
        var snapshot = view.Snapshot();
        ResultSetWriter.Write(output, ClientColumns, snapshot.Clients.Select(c => new object?[]
        {
            "C", c.User, c.Database, c.State, c.Address, (long)c.Port, c.LocalAddress, (long)c.LocalPort,
            c.ConnectTime, c.StateSince, (long)Math.Floor(c.WaitSeconds), (long)(c.WaitSeconds % 1 * 1_000_000), 0L,
            c.Id.ToString("x", System.Globalization.CultureInfo.InvariantCulture),
            c.ServerProcessId is { } pid ? pid.ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
            0L, "", c.ApplicationName ?? "",
        }));
    }

    private static readonly Column[] ServerColumns =
    [
        new("type"), new("user"), new("database"), new("state"), new("addr"), new("port", true),
        new("local_addr"), new("local_port", true), new("connect_time"), new("request_time"),
        new("wait", true), new("wait_us", true), new("close_needed", true), new("ptr"), new("link"),
        new("remote_pid", true), new("tls"), new("application_name"),
    ];

    private void ShowServers(IBufferWriter<byte> output)
    {
        var snapshot = view.Snapshot();
        ResultSetWriter.Write(output, ServerColumns, snapshot.Servers.Select(s => new object?[]
        {
            "S", s.User, s.Database, s.State, s.Host, (long)s.Port, s.LocalAddress, (long)s.LocalPort,
            s.ConnectTime, s.ConnectTime, 0L, 0L, s.Retired,
            s.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            s.ClientId is { } id ? id.ToString("x", System.Globalization.CultureInfo.InvariantCulture) : null,
            (long)s.ProcessId, "", "",
        }));
    }

    private static readonly Column[] StatsColumns =
    [
        new("database"), new("total_xact_count", true), new("total_query_count", true), new("total_received", true),
        new("total_sent", true), new("total_xact_time", true), new("total_query_time", true), new("total_wait_time", true),
        new("avg_xact_count", true), new("avg_query_count", true), new("avg_recv", true), new("avg_sent", true),
        new("avg_xact_time", true), new("avg_query_time", true), new("avg_wait_time", true),
    ];

    private void ShowStats(IBufferWriter<byte> output)
    {
        view.Snapshot(); // brings the byte counters of open connections up to date
        var uptime = Math.Max(1, (DateTime.UtcNow - System.Diagnostics.Process.GetCurrentProcess().StartTime.ToUniversalTime()).TotalSeconds);
        var rows = view.Stats.GroupBy(s => s.Key.Database).OrderBy(g => g.Key).Select(g =>
        {
            long xacts = g.Sum(s => s.Transactions), queries = g.Sum(s => s.Queries), received = g.Sum(s => s.BytesReceived),
                sent = g.Sum(s => s.BytesSent), xactTime = g.Sum(s => s.TransactionMicros), queryTime = g.Sum(s => s.QueryMicros),
                waitTime = g.Sum(s => s.WaitMicros), waits = g.Sum(s => s.Waits);
            // PgBouncer averages over its last 15-second period; these are averages since the pooler started.
            return new object?[]
            {
                g.Key, xacts, queries, received, sent, xactTime, queryTime, waitTime,
                (long)(xacts / uptime), (long)(queries / uptime), (long)(received / uptime), (long)(sent / uptime),
                xacts == 0 ? 0L : xactTime / xacts, queries == 0 ? 0L : queryTime / queries, waits == 0 ? 0L : waitTime / waits,
            };
        });
        ResultSetWriter.Write(output, StatsColumns, rows);
    }

    private static readonly Column[] DatabaseColumns =
    [
        new("name"), new("host"), new("port", true), new("database"), new("force_user"), new("pool_size", true),
        new("min_pool_size", true), new("reserve_pool", true), new("pool_mode"), new("max_connections", true),
        new("current_connections", true), new("paused", true), new("disabled", true),
    ];

    private void ShowDatabases(IBufferWriter<byte> output)
    {
        var snapshot = view.Snapshot();
        ResultSetWriter.Write(output, DatabaseColumns, snapshot.Databases.OrderBy(d => d.Name).Select(d => new object?[]
        {
            d.Name, d.Host, (long)d.Port, d.DbName, null, (long)d.PoolSize, (long)d.MinPoolSize, (long)d.ReservePool,
            d.Mode, (long)d.MaxConnections, (long)d.CurrentConnections, d.Paused, d.Removed,
        }));
    }

    private static readonly Column[] ConfigColumns = [new("key"), new("value"), new("default"), new("changeable")];

    private void ShowConfig(IBufferWriter<byte> output)
    {
        var c = control.Config;
        var d = PoolerConfigDefaults;
        // Secrets are never shown: users appear by name only.
        var rows = new List<object?[]>
        {
            Row("listen.address", c.Listen.Address, d.Listen.Address, false),
            Row("listen.port", c.Listen.Port, d.Listen.Port, false),
            Row("listen.reuse_port", c.Listen.ReusePort, d.Listen.ReusePort, false),
            Row("listen.tls.mode", EnumSpellings.NameOf(c.Listen.Tls.Mode), EnumSpellings.NameOf(d.Listen.Tls.Mode), false),
            Row("listen.max_message_size", c.Listen.MaxMessageSize, d.Listen.MaxMessageSize, false),
            Row("listen.login_rate", c.Listen.LoginRate, d.Listen.LoginRate, false),
            Row("metrics.address", c.Metrics.Address, d.Metrics.Address, false),
            Row("metrics.port", c.Metrics.Port, d.Metrics.Port, false),
            Row("admin.users", string.Join(",", c.Admin.Users), "", true),
            Row("auth.type", Spell(c.Auth.Type), Spell(d.Auth.Type), true),
            Row("auth.user", c.Auth.User ?? "", "", false),
            Row("auth.cache_ttl", Durations.Show(c.Auth.EffectiveCacheTtl), Durations.Show(d.Auth.EffectiveCacheTtl), false),
            Row("pool.mode", Spell(c.Pool.Mode), Spell(d.Pool.Mode), true),
            Row("pool.size", c.Pool.Size, d.Pool.Size, true),
            Row("pool.min_size", c.Pool.MinSize, d.Pool.MinSize, true),
            Row("pool.reserve_size", c.Pool.ReserveSize, d.Pool.ReserveSize, true),
            Row("pool.max_client_connections", c.Pool.MaxClientConnections, d.Pool.MaxClientConnections, true),
            Row("pool.max_prepared_statements", c.Pool.MaxPreparedStatements, d.Pool.MaxPreparedStatements, true),
            Row("pool.pinning", EnumSpellings.NameOf(c.Pool.Pinning), EnumSpellings.NameOf(d.Pool.Pinning), true),
            Row("pool.max_pinned", c.Pool.EffectiveMaxPinned, d.Pool.EffectiveMaxPinned, true),
            Row("pool.reset_query", c.Pool.ResetQuery, d.Pool.ResetQuery, true),
            Row("pool.timeouts.query_wait", Durations.Show(c.Pool.Timeouts.QueryWait), Durations.Show(d.Pool.Timeouts.QueryWait), true),
            Row("pool.timeouts.server_connect", Durations.Show(c.Pool.Timeouts.ServerConnect), Durations.Show(d.Pool.Timeouts.ServerConnect), true),
            Row("pool.timeouts.server_idle", Durations.Show(c.Pool.Timeouts.ServerIdle), Durations.Show(d.Pool.Timeouts.ServerIdle), true),
            Row("pool.timeouts.server_lifetime", Durations.Show(c.Pool.Timeouts.ServerLifetime), Durations.Show(d.Pool.Timeouts.ServerLifetime), true),
            Row("pool.timeouts.client_login", Durations.Show(c.Pool.Timeouts.ClientLogin), Durations.Show(d.Pool.Timeouts.ClientLogin), true),
            Row("pool.timeouts.idle_transaction", Durations.Show(c.Pool.Timeouts.IdleTransaction), Durations.Show(d.Pool.Timeouts.IdleTransaction), true),
            Row("pool.timeouts.query", Durations.Show(c.Pool.Timeouts.Query), Durations.Show(d.Pool.Timeouts.Query), true),
            Row("reload.watch_file", c.Reload.WatchFile, d.Reload.WatchFile, true),
            Row("logging.format", c.Logging.Format.ToString().ToLowerInvariant(), d.Logging.Format.ToString().ToLowerInvariant(), false),
            Row("logging.connections", c.Logging.Connections, d.Logging.Connections, true),
            Row("shutdown_timeout", Durations.Show(c.ShutdownTimeout), Durations.Show(d.ShutdownTimeout), true),
            Row("databases", string.Join(",", c.Databases.Keys.Order()), "", true),
            Row("users", string.Join(",", c.Users.Keys.Order()), "", true),
        };
        ResultSetWriter.Write(output, ConfigColumns, rows);

        static object?[] Row(string key, object value, object @default, bool changeable) =>
            [key, value is bool b ? (b ? "true" : "false") : value.ToString(), @default is bool bd ? (bd ? "true" : "false") : @default.ToString(), changeable ? "yes" : "no"];
    }

    private static readonly PoolerConfig PoolerConfigDefaults = YamlConfigLoader.Parse("databases: { x: { host: h } }").Config
        ?? throw new InvalidOperationException("the built-in defaults do not load");

    private static string Spell(AuthType type) => EnumSpellings.NameOf(type);
    private static string Spell(PoolMode mode) => EnumSpellings.NameOf(mode);

    private void RequireKnown(string? database)
    {
        if (database is not null && !control.Config.Databases.ContainsKey(database))
            throw new PgErrorException(PgErrors.AdminUnknownDatabase(database));
    }

    private static string Unquote(string word) => word.Length >= 2 && word[0] == '"' && word[^1] == '"' ? word[1..^1] : word;
}
