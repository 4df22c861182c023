// A client that vanishes mid-transaction never hands a dirty server to the next client; a server that dies
// costs only its own transaction.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;
using static Tuki.Pool.Pooler.IntegrationTests.TransactionPoolingTests;

namespace Tuki.Pool.Pooler.IntegrationTests;

[Collection("postgres")]
public sealed class DirtyServerTests(PostgresFixture pg)
{
    [Fact]
    public async Task ClientKilledHoldingRowLock_NextClientGetsLockQuickly()
    {
        var db = await pg.CreateDatabaseAsync("dirty_lock");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 2", auth: "trust");
        await using (var setup = await pooler.OpenAsync(db))
            await Execute(setup, "CREATE TABLE tier (id int primary key, stock int); INSERT INTO tier VALUES (1, 10)");

        var killer = await RawClient.ConnectAsync(pooler.Port);
        await killer.SendStartupAsync(("user", db.User), ("database", db.Database));
        Assert.Equal('Z', (await killer.ReadUntilReadyAsync())[^1].Type);
        await killer.SendQueryAsync("BEGIN; SELECT stock FROM tier WHERE id = 1 FOR UPDATE; UPDATE tier SET stock = 0 WHERE id = 1");
        var reply = await killer.ReadUntilReadyAsync();
        Assert.Equal((byte)'T', reply[^1].Body[0]);
        killer.Kill();

        await using var next = await pooler.OpenAsync(db);
        await Execute(next, "SET lock_timeout = '1s'");
        await using var tx = await next.BeginTransactionAsync();
        // Fails with 55P03 if the killed client's lock were still held after 1 s.
        Assert.Equal(10, await Scalar(next, "SELECT stock FROM tier WHERE id = 1 FOR UPDATE", tx));
        await tx.CommitAsync();
    }

    [Fact]
    public async Task ClientKilledMidQuery_ServerCancelledAndReused()
    {
        var db = await pg.CreateDatabaseAsync("dirty_query");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1", auth: "trust");

        var killer = await RawClient.ConnectAsync(pooler.Port);
        await killer.SendStartupAsync(("user", db.User), ("database", db.Database));
        await killer.ReadUntilReadyAsync();
        await killer.SendQueryAsync("BEGIN; CREATE TABLE leak (id int); SELECT pg_sleep(60)");
        await Task.Delay(300);
        killer.Kill();

        // The only server is freed well before the 60 s sleep ends, and its transaction is gone.
        await using var next = await pooler.OpenAsync(db, b => b.Timeout = 10);
        Assert.Equal(0L, await Scalar(next, "SELECT count(*) FROM pg_class WHERE relname = 'leak'"));
        Assert.Equal(0L, await Scalar(next, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()"));
    }

    [Fact]
    public async Task ServerTerminated_BoundClientGetsError_PoolRecovers()
    {
        var db = await pg.CreateDatabaseAsync("dirty_term");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        await using var victim = await pooler.OpenAsync(db);
        await using var tx = await victim.BeginTransactionAsync();
        var pid = (int)(await Scalar(victim, "SELECT pg_backend_pid()", tx))!;

        await using (var admin = new NpgsqlConnection(pg.SuperuserConnectionString))
        {
            await admin.OpenAsync();
            await Execute(admin, $"SELECT pg_terminate_backend({pid})");
        }

        var error = await Assert.ThrowsAnyAsync<Exception>(() => Scalar(victim, "SELECT 1", tx));
        Assert.True(error is NpgsqlException, error.ToString());

        await using var next = await pooler.OpenAsync(db);
        Assert.Equal(1, await Scalar(next, "SELECT 1"));
        Assert.NotEqual(pid, await Scalar(next, "SELECT pg_backend_pid()"));
    }

    [Fact]
    public async Task IdleServerTerminated_NextClientNeverSeesIt()
    {
        var db = await pg.CreateDatabaseAsync("dirty_idle");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        await using var client = await pooler.OpenAsync(db);
        var pid = (int)(await Scalar(client, "SELECT pg_backend_pid()"))!;
        await using (var admin = new NpgsqlConnection(pg.SuperuserConnectionString))
        {
            await admin.OpenAsync();
            await Execute(admin, $"SELECT pg_terminate_backend({pid})");
        }
        await Task.Delay(200);
        // Same client, next transaction: the dead idle server is replaced transparently.
        Assert.Equal(1, await Scalar(client, "SELECT 1"));
    }

    [Fact]
    public async Task EveryServerTerminatedUnderLoad_OnlyInFlightTransactionsFail_ThenTrafficRecovers()
    {
        var db = await pg.CreateDatabaseAsync("dirty_storm");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 5");
        await using (var setup = await pooler.OpenAsync(db))
            await Execute(setup, "CREATE TABLE hits (n bigint)");

        long committed = 0, failed = 0;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(6));
        var workers = Enumerable.Range(0, 20).Select(async _ =>
        {
            NpgsqlConnection? connection = null;
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    connection ??= await pooler.OpenAsync(db);
                    await using var tx = await connection.BeginTransactionAsync();
                    await Execute(connection, "INSERT INTO hits VALUES (1)", tx);
                    await tx.CommitAsync();
                    Interlocked.Increment(ref committed);
                }
                catch (NpgsqlException)
                {
                    // The transaction that was on a killed server: a real client reconnects and retries.
                    Interlocked.Increment(ref failed);
                    if (connection is not null) await connection.DisposeAsync();
                    connection = null;
                }
            }
            if (connection is not null) await connection.DisposeAsync();
        }).ToList();

        await Task.Delay(2000);
        int killed;
        await using (var admin = new NpgsqlConnection(pg.SuperuserConnectionString))
        {
            await admin.OpenAsync();
            await using var kill = new NpgsqlCommand("SELECT count(pg_terminate_backend(pid))::int FROM pg_stat_activity WHERE datname = $1 AND usename = $2", admin);
            kill.Parameters.Add(new NpgsqlParameter { Value = db.Database });
            kill.Parameters.Add(new NpgsqlParameter { Value = db.User });
            killed = (int)(await kill.ExecuteScalarAsync())!;
        }
        var committedAtKill = Interlocked.Read(ref committed);
        await Task.WhenAll(workers);

        Assert.InRange(killed, 1, 5);
        Assert.InRange(failed, 0, killed);                       // at most one failed transaction per killed server
        Assert.True(committed > committedAtKill + 20, $"traffic did not recover: {committedAtKill} before, {committed} after");
        await using var check = await pooler.OpenAsync(db);
        // Every acknowledged commit is there; a commit whose reply died with its server may be there too.
        Assert.InRange((long)(await Scalar(check, "SELECT count(*) FROM hits"))!, committed, committed + failed);
    }
}
