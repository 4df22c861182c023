// Named prepared statements in transaction mode with Npgsql: 50 clients × 200 transactions on a pool of 5, so
// every client's statements land on servers that never saw its Parse. Results are checked row by row.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Sessions;

[Collection("postgres")]
public sealed class PreparedStatementTests(PostgresFixture pg)
{
    private const int Clients = 50;
    private const int Transactions = 200;

    [Fact]
    public async Task Npgsql_AutoPrepare_FiftyClients_AcrossServers_NoErrors()
    {
        var db = await pg.CreateDatabaseAsync("autoprep");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 5\ntimeouts: { query_wait: 60s, client_login: 30s }");
        await SeedAsync(pooler, db);

        await RunClientsAsync(pooler, db, b => { b.MaxAutoPrepare = 10; b.AutoPrepareMinUsages = 2; }, async (connection, client, i) =>
        {
            await using var tx = await connection.BeginTransactionAsync();
            await using (var select = new NpgsqlCommand("SELECT v, $1::int + 1 FROM items WHERE id = $2", connection, tx))
            {
                select.Parameters.AddWithValue(i);
                select.Parameters.AddWithValue(client % 10 + 1);
                await using var reader = await select.ExecuteReaderAsync();
                Assert.True(await reader.ReadAsync());
                Assert.Equal($"item{client % 10 + 1}", reader.GetString(0));
                Assert.Equal(i + 1, reader.GetInt32(1));
            }
            await using (var update = new NpgsqlCommand("UPDATE counters SET n = n + 1 WHERE client = $1", connection, tx))
            {
                update.Parameters.AddWithValue(client);
                Assert.Equal(1, await update.ExecuteNonQueryAsync());
            }
            await tx.CommitAsync();
        });

        await AssertCountersAsync(pg, db);
    }

    [Fact]
    public async Task Npgsql_ExplicitPrepare_FiftyClients_AcrossServers_NoErrors()
    {
        var db = await pg.CreateDatabaseAsync("explprep");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 5\ntimeouts: { query_wait: 60s, client_login: 30s }");
        await SeedAsync(pooler, db);

        await RunClientsAsync(pooler, db, null, async (connection, client, i) =>
        {
            // Prepared once per connection (Npgsql remembers it), executed 200 times on whichever server is free.
            await using var update = new NpgsqlCommand("UPDATE counters SET n = n + 1 WHERE client = $1 RETURNING n", connection);
            update.Parameters.Add(new NpgsqlParameter<int> { TypedValue = client });
            await update.PrepareAsync();
            Assert.True(update.IsPrepared);
            Assert.Equal(i + 1, (int)(await update.ExecuteScalarAsync())!);
        });

        await AssertCountersAsync(pg, db);
    }

    [Fact]
    public async Task SmallServerCache_EvictsAndReprepares_Transparently()
    {
        var db = await pg.CreateDatabaseAsync("evict");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 2\nmax_prepared_statements: 3\ntimeouts: { query_wait: 30s }");
        await using var connection = await pooler.OpenAsync(db);
        var commands = new List<NpgsqlCommand>();
        for (var k = 0; k < 8; k++)
        {
            var command = new NpgsqlCommand($"SELECT {k} + $1::int", connection);
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = 0 });
            await command.PrepareAsync();
            commands.Add(command);
        }
        for (var round = 0; round < 5; round++)
        {
            for (var k = 0; k < commands.Count; k++)
            {
                ((NpgsqlParameter<int>)commands[k].Parameters[0]).TypedValue = round;
                Assert.Equal(k + round, (int)(await commands[k].ExecuteScalarAsync())!);
            }
        }
        // No server ever holds more than the configured three pooler statements.
        for (var i = 0; i < 4; i++)
        {
            await using var count = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'tuki_%'", connection);
            Assert.InRange((long)(await count.ExecuteScalarAsync())!, 1, 3);
        }
        foreach (var command in commands) command.Dispose();
    }

    [Fact]
    public async Task FailedParse_InPipeline_LeavesBothSidesConsistent()
    {
        var db = await pg.CreateDatabaseAsync("badparse");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        await using var connection = await pooler.OpenAsync(db);

        await using (var bad = new NpgsqlCommand("SELECT no_such_column FROM pg_class WHERE oid = $1", connection))
        {
            bad.Parameters.Add(new NpgsqlParameter<int> { TypedValue = 1 });
            var error = await Assert.ThrowsAsync<PostgresException>(() => bad.PrepareAsync());
            Assert.Equal("42703", error.SqlState);
        }
        // A batch whose second statement fails: the first one's Parse is skipped with it.
        await using (var batch = new NpgsqlBatch(connection))
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT 1 / $1::int") { Parameters = { new NpgsqlParameter<int> { TypedValue = 0 } } });
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT 2"));
            await batch.PrepareAsync();
            await Assert.ThrowsAsync<PostgresException>(() => batch.ExecuteNonQueryAsync());
        }
        await using var good = new NpgsqlCommand("SELECT 40 + $1::int", connection);
        good.Parameters.Add(new NpgsqlParameter<int> { TypedValue = 2 });
        await good.PrepareAsync();
        for (var i = 0; i < 5; i++)
            Assert.Equal(42, (int)(await good.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task SameStatement_FromManyClients_PreparedOncePerServer()
    {
        var db = await pg.CreateDatabaseAsync("shared");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        for (var c = 0; c < 5; c++)
        {
            await using var connection = await pooler.OpenAsync(db);
            await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 'tuki_%' AND $1::int = $1", connection);
            command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = c });
            await command.PrepareAsync();
            // One server: its cache holds exactly this statement, whichever client prepared it first.
            Assert.Equal(1L, (long)(await command.ExecuteScalarAsync())!);
        }
    }

    private static async Task SeedAsync(PoolerHarness pooler, (string Database, string User, string Password) db)
    {
        await using var connection = await pooler.OpenAsync(db);
        await using var command = new NpgsqlCommand(
            "CREATE TABLE items (id int PRIMARY KEY, v text); INSERT INTO items SELECT g, 'item' || g FROM generate_series(1, 10) g;" +
            $"CREATE TABLE counters (client int PRIMARY KEY, n int NOT NULL); INSERT INTO counters SELECT g, 0 FROM generate_series(0, {Clients - 1}) g;", connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task RunClientsAsync(PoolerHarness pooler, (string Database, string User, string Password) db,
        Action<NpgsqlConnectionStringBuilder>? tweak, Func<NpgsqlConnection, int, int, Task> transaction)
    {
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(client => Task.Run(async () =>
        {
            await using var connection = await pooler.OpenAsync(db, tweak);
            for (var i = 0; i < Transactions; i++)
                await transaction(connection, client, i);
        })));
    }

    private static async Task AssertCountersAsync(PostgresFixture pg, (string Database, string User, string Password) db)
    {
        await using var direct = new NpgsqlConnection(pg.ConnectionString(db.Database, db.User, db.Password));
        await direct.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FILTER (WHERE n = $1), count(*) FROM counters", direct);
        command.Parameters.AddWithValue(Transactions);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal((long)Clients, reader.GetInt64(1));
        Assert.Equal((long)Clients, reader.GetInt64(0));
    }
}
