// Server-side timeouts: unreachable PostgreSQL, idle servers closed, old servers retired.
using System.Net;
using System.Net.Sockets;
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;
using static Tuki.Pool.Pooler.IntegrationTests.TransactionPoolingTests;

namespace Tuki.Pool.Pooler.IntegrationTests;

[Collection("postgres")]
public sealed class TimeoutsTests(PostgresFixture pg)
{
    [Fact]
    public async Task PostgresUnreachable_ClientGetsConnectionFailure()
    {
        // A port nobody listens on: bind, read the number, close.
        var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var deadPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();

        var yaml = $$"""
            listen: { address: 127.0.0.1, port: 0 }
            auth: { type: trust }
            pool: { size: 2, timeouts: { server_connect: 2s } }
            databases:
              app: { host: 127.0.0.1, port: {{deadPort}} }
            users:
              someone: {}
            """;
        await using var pooler = PoolerHarness.Start(yaml);
        var error = await Assert.ThrowsAsync<PostgresException>(() =>
            pooler.OpenAsync(("app", "someone", ""), b => b.Password = null));
        Assert.Equal("08006", error.SqlState);
        Assert.Contains("could not connect to PostgreSQL", error.MessageText);
    }

    [Fact]
    public async Task ServerIdle_IdleServersClosed()
    {
        var db = await pg.CreateDatabaseAsync("to_idle");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 3\ntimeouts: { server_idle: 1s }");
        await using (var connection = await pooler.OpenAsync(db))
            Assert.Equal(1, await Scalar(connection, "SELECT 1"));
        Assert.InRange(await pg.CountBackendsAsync(db.Database, db.User), 0, 1); // 0 if the janitor was already there

        await WaitUntil(async () => await pg.CountBackendsAsync(db.Database, db.User) == 0, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task ServerLifetime_OldServerReplacedBetweenTransactions()
    {
        var db = await pg.CreateDatabaseAsync("to_life");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1\ntimeouts: { server_lifetime: 1s }");
        await using var connection = await pooler.OpenAsync(db);
        var first = await Scalar(connection, "SELECT pg_backend_pid()");
        await Task.Delay(1500);
        var second = await Scalar(connection, "SELECT pg_backend_pid()");
        Assert.NotEqual(first, second);
        await WaitUntil(async () => await pg.CountBackendsAsync(db.Database, db.User) == 1, TimeSpan.FromSeconds(10));
    }

    private static async Task WaitUntil(Func<Task<bool>> condition, TimeSpan limit)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"condition not met within {limit}");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task IdleInTransaction_PastTheTimeout_ClientCutAndServerRolledBack()
    {
        var db = await pg.CreateDatabaseAsync("idletx");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1\ntimeouts: { idle_transaction: 1s, query_wait: 10s }");
        await using (var setup = await pooler.OpenAsync(db))
        await using (var create = new NpgsqlCommand("CREATE TABLE t (x int)", setup))
            await create.ExecuteNonQueryAsync();

        await using var idle = await pooler.OpenAsync(db);
        await using (var begin = new NpgsqlCommand("BEGIN; INSERT INTO t VALUES (1)", idle))
            await begin.ExecuteNonQueryAsync();
        await Task.Delay(TimeSpan.FromSeconds(4)); // sweeps run every second: cut after 1-2 s, with room for a busy machine

        // The client was told why and cut; its insert was rolled back, and the only server serves others.
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var next = new NpgsqlCommand("COMMIT", idle);
            await next.ExecuteNonQueryAsync();
        });
        Assert.Contains("idle-in-transaction", error.ToString());
        await using var other = await pooler.OpenAsync(db);
        Assert.Equal(0L, (long)(await new NpgsqlCommand("SELECT count(*) FROM t", other).ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task QueryTimeout_LongQueryCancelled_ClientGoesOn()
    {
        var db = await pg.CreateDatabaseAsync("qtimeout");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1\ntimeouts: { query: 1s, query_wait: 10s }");
        await using var client = await pooler.OpenAsync(db);
        var started = System.Diagnostics.Stopwatch.StartNew();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => new NpgsqlCommand("SELECT pg_sleep(20)", client) { CommandTimeout = 60 }.ExecuteScalarAsync());
        Assert.Contains("57014", error.ToString());
        Assert.InRange(started.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(10));
        Assert.Equal(1, (int)(await new NpgsqlCommand("SELECT 1", client).ExecuteScalarAsync())!);
    }
}
