// The one NpgsqlDataSource of the service, built from the environment with settings that suit a
// transaction-pooling pooler (Tuki.Pool, PgBouncer pool_mode=transaction) in front of PostgreSQL.
using System.Data.Common;
using Npgsql;

namespace Tuki.Pool.Backend.Data;

public static class TicketsDataSource
{
    /// <summary>Configuration key of the connection string; from the environment it is
    /// <c>ConnectionStrings__Pooler</c> (ASP.NET Core maps <c>__</c> to <c>:</c>).</summary>
    public const string ConnectionStringName = "Pooler";

    /// <summary>Builds the data source. Settings that transaction pooling needs for correctness are forced;
    /// sizes and timeouts are defaults that the connection string may override.</summary>
    public static NpgsqlDataSource Create(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        // The keys the caller really set, under Npgsql's canonical names (its builder answers ContainsKey
        // with true for every keyword it knows, so it cannot tell "given" from "default" itself).
        var given = new DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };

        // --- forced: anything else breaks or wastes work behind a transaction pooler ---
        // Each transaction may run on a different server connection, so nothing may live in the session.
        // Npgsql would send DISCARD ALL when a connection goes back to its own pool: behind the pooler
        // that resets whichever server the *next* transaction lands on and costs a round trip for nothing.
        builder.NoResetOnClose = true;
        // Automatic preparation creates named statements on one server connection; the next transaction
        // may get another one, where the name does not exist ("prepared statement ... does not exist").
        builder.MaxAutoPrepare = 0;
        // Multiplexing interleaves many commands on one physical connection and relies on session-level
        // state of that connection; one command per connection at a time is what a pooler expects.
        builder.Multiplexing = false;

        // --- defaults, overridable from the connection string ---
        // Client-side connections to the pooler are cheap for PostgreSQL (the pooler multiplexes them),
        // but each one is a slot in the pooler's max_client_connections: size = the concurrency one
        // instance really has (requests in flight), and total = instances x this value.
        SetDefault(builder, given, b => b.MaxPoolSize = 30);
        // Scale-to-zero friendly: an idle instance holds no connection.
        SetDefault(builder, given, b => b.MinPoolSize = 0);
        // Give idle client connections back after a minute so a burst's connections do not stay counted
        // against max_client_connections for the default five minutes.
        SetDefault(builder, given, b => b.ConnectionIdleLifetime = 60);
        // Opening a connection only reaches the pooler (it answers without a server), so 15 s is ample.
        SetDefault(builder, given, b => b.Timeout = 15);
        // The pooler queues a transaction while all servers are busy (pool.timeouts.query_wait) and then
        // answers 53300; keep query_wait below this so the pooler's clearer error arrives first.
        SetDefault(builder, given, b => b.CommandTimeout = 30);
        // Serverless egress (VPC connectors, NAT, load balancers) drops idle TCP flows silently;
        // keepalives keep them alive and detect a dead path.
        SetDefault(builder, given, b => b.KeepAlive = 30);
        SetDefault(builder, given, b => b.ApplicationName = "tuki-backend");

        return new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
    }

    static void SetDefault(NpgsqlConnectionStringBuilder builder, DbConnectionStringBuilder given, Action<NpgsqlConnectionStringBuilder> set)
    {
        // The canonical key of this setting: set it on an empty builder and read the one key that appears.
        var probe = new NpgsqlConnectionStringBuilder();
        set(probe);
        var key = new DbConnectionStringBuilder { ConnectionString = probe.ConnectionString }.Keys.Cast<string>().Single();
        if (!given.ContainsKey(key))
            set(builder);
    }
}
