// Thousands of idle clients on a small pool: the pooler holds them all and serves them afterwards.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;
using static Tuki.Pool.Pooler.IntegrationTests.TransactionPoolingTests;

namespace Tuki.Pool.Pooler.IntegrationTests;

[Collection("postgres")]
public sealed class IdleClientsTests(PostgresFixture pg)
{
    [Fact]
    public async Task TwoThousandIdleClients_PoolOfTen_AllStayConnectedAndServed()
    {
        const int clients = 2000;
        var db = await pg.CreateDatabaseAsync("idle_many");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 10\nmax_client_connections: 5000\ntimeouts: { query_wait: 60s, client_login: 60s }");
        var connections = new NpgsqlConnection[clients];
        try
        {
            // Open in waves of 100 so the test's own SCRAM work does not time logins out on 2 cores.
            for (var wave = 0; wave < clients; wave += 100)
            {
                await Task.WhenAll(Enumerable.Range(wave, 100).Select(async i =>
                {
                    connections[i] = await pooler.OpenAsync(db, b => b.Timeout = 60);
                }));
            }
            Assert.Equal(clients, pooler.Runtime.Clients.ClientCount);
            Assert.InRange(await pg.CountBackendsAsync(db.Database, db.User), 1, 10);

            // Every one of them still works.
            await Task.WhenAll(connections.Select(async (c, i) => Assert.Equal(i, await Scalar(c, $"SELECT {i}"))));
            Assert.InRange(await pg.CountBackendsAsync(db.Database, db.User), 1, 10);
        }
        finally
        {
            foreach (var c in connections)
                if (c is not null) await c.DisposeAsync();
        }
    }
}
