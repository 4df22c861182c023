// Limits: max_client_connections, query_wait, per-database max_connections.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;
using static Tuki.Pool.Pooler.IntegrationTests.TransactionPoolingTests;

namespace Tuki.Pool.Pooler.IntegrationTests;

[Collection("postgres")]
public sealed class LimitsTests(PostgresFixture pg)
{
    [Fact]
    public async Task MaxClientConnections_Exceeded_Refused53300()
    {
        var db = await pg.CreateDatabaseAsync("lim_clients");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 2\nmax_client_connections: 3");
        var open = new List<NpgsqlConnection>();
        for (var i = 0; i < 3; i++)
            open.Add(await pooler.OpenAsync(db));
        var error = await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db));
        Assert.Equal("53300", error.SqlState);

        await open[0].DisposeAsync();
        await Task.Delay(200);
        await using var again = await pooler.OpenAsync(db);
        Assert.Equal(1, await Scalar(again, "SELECT 1"));
        foreach (var c in open.Skip(1)) await c.DisposeAsync();
    }

    [Fact]
    public async Task QueryWait_Exceeded_OnlyWaitingClientGetsError()
    {
        var db = await pg.CreateDatabaseAsync("lim_wait");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1\ntimeouts: { query_wait: 1s }");
        await using var holder = await pooler.OpenAsync(db);
        await using var waiter = await pooler.OpenAsync(db);

        await using var tx = await holder.BeginTransactionAsync();
        await Execute(holder, "SELECT 1", tx); // holds the only server

        var error = await Assert.ThrowsAsync<PostgresException>(() => Scalar(waiter, "SELECT 1"));
        Assert.Equal("53300", error.SqlState);
        Assert.Contains("query_wait", error.Hint);

        Assert.Equal(2, await Scalar(holder, "SELECT 2", tx));
        await tx.CommitAsync();
    }

    [Fact]
    public async Task DatabaseMaxConnections_CapsAllUsersTogether()
    {
        var db = await pg.CreateDatabaseAsync("lim_db");
        var yaml = $$"""
            listen: { address: 127.0.0.1, port: 0 }
            auth: { type: scram-sha-256 }
            pool: { size: 10, timeouts: { query_wait: 20s } }
            databases:
              {{db.Database}}: { host: {{pg.Host}}, port: {{pg.Port}}, max_connections: 3 }
            users:
              {{db.User}}: { password: "{{db.Password}}" }
            """;
        await using var pooler = PoolerHarness.Start(yaml);
        var maxBackends = 0;
        var gate = new object();
        var clients = Enumerable.Range(0, 12).Select(async _ =>
        {
            await using var connection = await pooler.OpenAsync(db);
            for (var i = 0; i < 5; i++)
            {
                await Execute(connection, "SELECT pg_sleep(0.02)");
                var backends = await pg.CountBackendsAsync(db.Database, db.User);
                lock (gate) maxBackends = Math.Max(maxBackends, backends);
            }
        }).ToList();
        await Task.WhenAll(clients);
        Assert.InRange(maxBackends, 1, 3);
    }
}
