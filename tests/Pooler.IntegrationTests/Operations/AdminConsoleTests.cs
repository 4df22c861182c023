// The admin console through psql (simple query) and Npgsql (extended protocol, refused with 0A000): SHOW commands
// with PgBouncer's column names, PAUSE/RESUME, RECONNECT/WAIT_CLOSE, KILL, errors for unknown commands and users.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Operations;

[Collection("postgres")]
public sealed class AdminConsoleTests(PostgresFixture pg)
{
    [Fact]
    public async Task Show_EveryCommand_PgBouncerColumnsAndLiveRows()
    {
        var db = await pg.CreateDatabaseAsync("admin_show");
        await using var pooler = OpsPooler.Start(pg, db);
        await using var client = await OpenAsync(pooler, db);
        await using (var cmd = new NpgsqlCommand("SELECT 1", client))
            await cmd.ExecuteScalarAsync();

        var pools = await ShowAsync(pooler, "SHOW POOLS");
        Assert.Equal(["database", "user", "cl_active", "cl_waiting", "cl_active_cancel_req", "cl_waiting_cancel_req", "sv_active",
            "sv_active_cancel", "sv_being_canceled", "sv_idle", "sv_used", "sv_tested", "sv_login", "maxwait", "maxwait_us", "pool_mode"],
            pools.Header.Take(16));
        var pool = Assert.Single(pools.Rows);
        Assert.Equal((db.Database, db.User, "1", "1", "transaction"), (pool["database"], pool["user"], pool["cl_active"], pool["sv_idle"], pool["pool_mode"]));

        var clients = await ShowAsync(pooler, "SHOW CLIENTS");
        Assert.Equal(["type", "user", "database", "state", "addr", "port", "local_addr", "local_port", "connect_time", "request_time"], clients.Header.Take(10));
        var row = Assert.Single(clients.Rows);
        Assert.Equal((db.User, "idle"), (row["user"], row["state"]));
        // Read from the descriptor itself (accepted clients have no Socket object): both ends of the connection.
        Assert.Equal(("127.0.0.1", "127.0.0.1"), (row["addr"], row["local_addr"]));
        Assert.True(int.Parse(row["port"]) > 0 && int.Parse(row["local_port"]) > 0);

        var servers = await ShowAsync(pooler, "SHOW SERVERS");
        var server = Assert.Single(servers.Rows);
        // The server's local port is the client_port PostgreSQL sees: the two views name the same connection.
        await using (var direct = new NpgsqlConnection(pg.SuperuserConnectionString))
        {
            await direct.OpenAsync();
            await using var cmd = new NpgsqlCommand("SELECT client_port FROM pg_stat_activity WHERE pid = $1", direct);
            cmd.Parameters.Add(new NpgsqlParameter { Value = int.Parse(server["remote_pid"]) });
            Assert.Equal(int.Parse(server["local_port"]), (int)(await cmd.ExecuteScalarAsync())!);
        }

        var stats = await ShowAsync(pooler, "SHOW STATS");
        Assert.Equal(["database", "total_xact_count", "total_query_count", "total_received", "total_sent", "total_xact_time",
            "total_query_time", "total_wait_time", "avg_xact_count", "avg_query_count", "avg_recv", "avg_sent", "avg_xact_time",
            "avg_query_time", "avg_wait_time"], stats.Header);
        Assert.True(long.Parse(Assert.Single(stats.Rows)["total_xact_count"]) >= 1);

        var databases = await ShowAsync(pooler, "SHOW DATABASES");
        Assert.Equal("10", Assert.Single(databases.Rows, r => r["name"] == db.Database)["pool_size"]);
        var config = await ShowAsync(pooler, "SHOW CONFIG");
        Assert.Equal("10", Assert.Single(config.Rows, r => r["key"] == "pool.size")["value"]);
        Assert.DoesNotContain(db.Password, config.Output);
        Assert.StartsWith("Tuki.Pool", Assert.Single((await ShowAsync(pooler, "SHOW VERSION")).Rows)["version"]);

        // The name PgBouncer's tools use works too.
        var (exit, output) = await pooler.AdminPsqlAsync("SHOW POOLS", database: "pgbouncer");
        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task Errors_UnknownCommandNonAdminAndExtendedProtocol_AreRefusedWithSqlState()
    {
        var db = await pg.CreateDatabaseAsync("admin_err");
        await using var pooler = OpsPooler.Start(pg, db);

        var (exit, output) = await pooler.AdminPsqlAsync("SHOW NONSENSE");
        Assert.NotEqual(0, exit);
        Assert.Contains("42601", output);
        (exit, output) = await pooler.AdminPsqlAsync("PAUSE no_such_db");
        Assert.Contains("3D000", output);

        // A configured user that is not an admin: refused after authenticating.
        (exit, output) = await pooler.AdminPsqlAsync("SHOW POOLS", user: db.User, password: db.Password);
        Assert.NotEqual(0, exit);
        Assert.Contains("may not use the admin console", output); // psql shows no SQLSTATE for login errors

        // Npgsql always speaks the extended protocol: the console says so with 0A000 and stays usable.
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = pooler.Port, Database = "pooler", Username = OpsPooler.AdminUser, Password = pooler.AdminPassword,
            Pooling = false,
        };
        var source = new NpgsqlDataSourceBuilder(builder.ConnectionString);
        source.ConfigureTypeLoading(t => t.EnableTypeLoading(false)); // the console has no pg_type to read
        await using var dataSource = source.Build();
        await using var admin = await dataSource.OpenConnectionAsync();
        await using var cmd = new NpgsqlCommand("SHOW POOLS", admin);
        var error = await Assert.ThrowsAsync<PostgresException>(() => cmd.ExecuteReaderAsync());
        Assert.Equal("0A000", error.SqlState);
        var again = await Assert.ThrowsAsync<PostgresException>(() => cmd.ExecuteReaderAsync());
        Assert.Equal("0A000", again.SqlState);
    }

    [Fact]
    public async Task PauseResume_NewTransactionsWaitUntilResume()
    {
        var db = await pg.CreateDatabaseAsync("admin_pause");
        await using var pooler = OpsPooler.Start(pg, db);
        await using var client = await OpenAsync(pooler, db);

        Assert.Equal(0, (await pooler.AdminPsqlAsync($"PAUSE {db.Database}")).Exit);
        await using var cmd = new NpgsqlCommand("SELECT 42", client);
        var query = cmd.ExecuteScalarAsync();
        await Task.Delay(500);
        Assert.False(query.IsCompleted, "a paused database must hold new transactions");
        var pools = await ShowAsync(pooler, "SHOW POOLS");
        Assert.Equal(("1", "1"), (pools.Rows[0]["cl_waiting"], pools.Rows[0]["paused"]));

        Assert.Equal(0, (await pooler.AdminPsqlAsync($"RESUME {db.Database}")).Exit);
        Assert.Equal(42, await query.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ReconnectWaitClose_BusyServerRetiredAfterItsTransaction()
    {
        var db = await pg.CreateDatabaseAsync("admin_reconnect");
        await using var pooler = OpsPooler.Start(pg, db);
        await using var client = await OpenAsync(pooler, db);
        await using var tx = await client.BeginTransactionAsync();
        var before = await PidAsync(client);

        Assert.Equal(0, (await pooler.AdminPsqlAsync($"RECONNECT {db.Database}")).Exit);
        var waitClose = pooler.AdminPsqlAsync($"WAIT_CLOSE {db.Database}");
        await Task.Delay(300);
        Assert.False(waitClose.IsCompleted, "WAIT_CLOSE returns only once the retired server has closed");
        Assert.Equal(before, await PidAsync(client)); // the open transaction keeps its server
        await tx.CommitAsync();
        Assert.Equal(0, (await waitClose.WaitAsync(TimeSpan.FromSeconds(10))).Exit);
        Assert.NotEqual(before, await PidAsync(client));
    }

    [Fact]
    public async Task Kill_DropsTheDatabasesClients()
    {
        var db = await pg.CreateDatabaseAsync("admin_kill");
        await using var pooler = OpsPooler.Start(pg, db);
        await using var client = await OpenAsync(pooler, db);
        await PidAsync(client);

        Assert.Equal(0, (await pooler.AdminPsqlAsync($"KILL {db.Database}")).Exit);
        await using var cmd = new NpgsqlCommand("SELECT 1", client);
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => cmd.ExecuteScalarAsync());
        Assert.Equal(0, (await pooler.AdminPsqlAsync($"RESUME {db.Database}")).Exit);
        await using var fresh = await OpenAsync(pooler, db);
        await PidAsync(fresh);
    }

    private static async Task<int> PidAsync(NpgsqlConnection connection)
    {
        await using var cmd = new NpgsqlCommand("SELECT pg_backend_pid()", connection);
        return (int)(await cmd.ExecuteScalarAsync())!;
    }

    private static async Task<NpgsqlConnection> OpenAsync(OpsPooler pooler, (string Database, string User, string Password) db)
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = pooler.Port, Database = db.Database, Username = db.User, Password = db.Password, Pooling = false,
        }.ConnectionString);
        await connection.OpenAsync();
        return connection;
    }

    private static async Task<(string[] Header, List<Dictionary<string, string>> Rows, string Output)> ShowAsync(OpsPooler pooler, string command)
    {
        var (exit, output) = await pooler.AdminPsqlAsync(command);
        Assert.True(exit == 0, output);
        return (output.Split('\n')[0].Split('|'), OpsPooler.Rows(output), output);
    }
}
