// Transaction pooling end to end with Npgsql: queries, transactions, errors, the pool bound, session settings.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests;

[Collection("postgres")]
public sealed class TransactionPoolingTests(PostgresFixture pg)
{
    [Fact]
    public async Task SimpleAndExtendedQuery_ThroughPooler_ReturnServerResults()
    {
        var db = await pg.CreateDatabaseAsync("tp_query");
        await using var pooler = PoolerHarness.Start(pg, db);
        await using var connection = await pooler.OpenAsync(db);

        await using (var simple = new NpgsqlCommand("SELECT 40 + 2; SELECT 'two'", connection))
        await using (var reader = await simple.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(42, reader.GetInt32(0));
            Assert.True(await reader.NextResultAsync());
            Assert.True(await reader.ReadAsync());
            Assert.Equal("two", reader.GetString(0));
        }

        await using var extended = new NpgsqlCommand("SELECT $1::int * 2, current_user, current_database()", connection);
        extended.Parameters.Add(new NpgsqlParameter { Value = 21 });
        await using (var reader = await extended.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(42, reader.GetInt32(0));
            Assert.Equal(db.User, reader.GetString(1));
            Assert.Equal(db.Database, reader.GetString(2));
        }
    }

    [Fact]
    public async Task Transaction_RolledBack_LeavesNoTrace()
    {
        var db = await pg.CreateDatabaseAsync("tp_rollback");
        await using var pooler = PoolerHarness.Start(pg, db);
        await using var connection = await pooler.OpenAsync(db);
        await Execute(connection, "CREATE TABLE t (id int primary key)");

        await using (var tx = await connection.BeginTransactionAsync())
        {
            await Execute(connection, "INSERT INTO t VALUES (1)", tx);
            Assert.Equal(1L, await Scalar(connection, "SELECT count(*) FROM t", tx));
            await tx.RollbackAsync();
        }
        Assert.Equal(0L, await Scalar(connection, "SELECT count(*) FROM t"));

        await using (var tx = await connection.BeginTransactionAsync())
        {
            await Execute(connection, "INSERT INTO t VALUES (2)", tx);
            await tx.CommitAsync();
        }
        Assert.Equal(1L, await Scalar(connection, "SELECT count(*) FROM t"));
    }

    [Fact]
    public async Task ErrorInsideTransaction_ThenRollback_ConnectionStaysUsable()
    {
        var db = await pg.CreateDatabaseAsync("tp_error");
        await using var pooler = PoolerHarness.Start(pg, db);
        await using var connection = await pooler.OpenAsync(db);

        await using var tx = await connection.BeginTransactionAsync();
        var error = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "SELECT 1/0", tx));
        Assert.Equal("22012", error.SqlState);
        var aborted = await Assert.ThrowsAsync<PostgresException>(() => Execute(connection, "SELECT 1", tx));
        Assert.Equal("25P02", aborted.SqlState); // in failed transaction: the server stayed bound to us
        await tx.RollbackAsync();

        Assert.Equal(1, await Scalar(connection, "SELECT 1"));
    }

    [Fact]
    public async Task FiftyClients_PoolOfFive_NeverMoreThanFiveBackends()
    {
        var db = await pg.CreateDatabaseAsync("tp_bound");
        await using var pooler = PoolerHarness.Start(pg, db);
        await using (var setup = await pooler.OpenAsync(db))
            await Execute(setup, "CREATE TABLE counter (n int); INSERT INTO counter VALUES (0)");

        var maxBackends = 0;
        using var stop = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                maxBackends = Math.Max(maxBackends, await pg.CountBackendsAsync(db.Database, db.User));
                await Task.Delay(20);
            }
        });

        var clients = Enumerable.Range(0, 50).Select(async _ =>
        {
            await using var connection = await pooler.OpenAsync(db);
            for (var i = 0; i < 20; i++)
            {
                await using var tx = await connection.BeginTransactionAsync();
                await Execute(connection, "UPDATE counter SET n = n + 1", tx);
                await tx.CommitAsync();
            }
        });
        await Task.WhenAll(clients);
        stop.Cancel();
        await watcher;

        await using var check = await pooler.OpenAsync(db);
        Assert.Equal(1000, await Scalar(check, "SELECT n FROM counter"));
        Assert.InRange(maxBackends, 1, 5);
    }

    [Fact]
    public async Task ApplicationName_IsAppliedPerClient_AndNeverLeaks()
    {
        var db = await pg.CreateDatabaseAsync("tp_appname");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        await using var alpha = await pooler.OpenAsync(db, b => b.ApplicationName = "alpha");
        await using var plain = await pooler.OpenAsync(db);
        await using var beta = await pooler.OpenAsync(db, b => b.ApplicationName = "beta");

        // One server runs all three clients' transactions in turn.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("alpha", await Scalar(alpha, "SELECT current_setting('application_name')"));
            Assert.Equal("", await Scalar(plain, "SELECT current_setting('application_name')"));
            Assert.Equal("beta", await Scalar(beta, "SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()"));
        }
    }

    [Fact]
    public async Task StartupOptions_AppliedToTheirClientOnly_OnAnySharedServer()
    {
        var db = await pg.CreateDatabaseAsync("tp_options");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        // JDBC and psycopg pass settings as options=-c ...; Npgsql's Options keyword sends the same.
        await using var tuned = await pooler.OpenAsync(db, b => b.Options = "-c statement_timeout=1234 -c search_path=tuned_schema");
        await using var plain = await pooler.OpenAsync(db);

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal("1234ms", await Scalar(tuned, "SHOW statement_timeout"));
            Assert.Equal("tuned_schema", await Scalar(tuned, "SHOW search_path"));
            Assert.Equal("0", await Scalar(plain, "SHOW statement_timeout"));
            Assert.Equal("\"$user\", public", await Scalar(plain, "SHOW search_path"));
        }
    }

    [Fact]
    public async Task StartupSettingRejectedByPostgres_LoginRefusedWithItsError()
    {
        var db = await pg.CreateDatabaseAsync("tp_badopt");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        var error = await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db, b => b.Options = "-c statement_timeout=bogus"));
        Assert.Equal("22023", error.SqlState); // invalid_parameter_value, as PostgreSQL itself answers
        // The server used for the check is clean for the next client.
        await using var next = await pooler.OpenAsync(db);
        Assert.Equal("0", await Scalar(next, "SHOW statement_timeout"));
    }

    [Fact]
    public async Task ApplicationNameWithQuotesAndBackslashes_StaysAValue()
    {
        var db = await pg.CreateDatabaseAsync("tp_quote");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        const string hostile = @"x\'; CREATE TABLE pwned (); --";
        await using var hostileClient = await pooler.OpenAsync(db, b => b.ApplicationName = hostile);
        await using var other = await pooler.OpenAsync(db);
        await Execute(other, "SET standard_conforming_strings = off"); // left on the shared server for the next one
        Assert.Equal(hostile, await Scalar(hostileClient, "SELECT current_setting('application_name')"));
        Assert.Equal(0L, await Scalar(other, "SELECT count(*) FROM pg_class WHERE relname = 'pwned'"));
    }

    [Fact]
    public async Task ServerParameters_ComeFromRealServer()
    {
        var db = await pg.CreateDatabaseAsync("tp_params");
        await using var pooler = PoolerHarness.Start(pg, db);
        await using var connection = await pooler.OpenAsync(db);
        await using var direct = new NpgsqlConnection(pg.ConnectionString(db.Database, db.User, db.Password));
        await direct.OpenAsync();

        Assert.Equal(direct.PostgreSqlVersion, connection.PostgreSqlVersion);
        Assert.Equal(direct.Timezone, connection.Timezone);
        Assert.Equal(direct.ServerVersion, connection.ServerVersion);
    }

    internal static async Task Execute(NpgsqlConnection connection, string sql, NpgsqlTransaction? tx = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        await command.ExecuteNonQueryAsync();
    }

    internal static async Task<object?> Scalar(NpgsqlConnection connection, string sql, NpgsqlTransaction? tx = null)
    {
        await using var command = new NpgsqlCommand(sql, connection, tx);
        return await command.ExecuteScalarAsync();
    }
}
