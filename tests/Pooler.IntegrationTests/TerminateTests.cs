// A client's Terminate ends its session at once: the pooler closes the socket without waiting for the client's own
// close (as PostgreSQL and PgBouncer do), the client reads a clean end of stream rather than a reset, and its server
// stays in the pool for the next client.
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests;

[Collection("postgres")]
public sealed class TerminateTests(PostgresFixture pg)
{
    [Fact]
    public async Task Terminate_SocketLeftOpen_CleanCloseAndSessionEnds()
    {
        var db = await pg.CreateDatabaseAsync("terminate_open");
        await using var pooler = PoolerHarness.Start(pg, db, auth: "trust", pool: "size: 1");
        await using var raw = await RawClient.ConnectAsync(pooler.Port);
        await raw.SendStartupAsync(("user", db.User), ("database", db.Database));
        await raw.ReadUntilReadyAsync();
        await raw.SendQueryAsync("SELECT 1");
        await raw.ReadUntilReadyAsync();

        await raw.SendAsync([(byte)'X', 0, 0, 0, 4]); // Terminate; the client keeps its socket open
        Assert.True(await raw.ReadsEndOfStreamAsync(TimeSpan.FromSeconds(10)));
        for (var i = 0; i < 100 && pooler.Runtime.Snapshot().Clients.Count > 0; i++)
            await Task.Delay(50);
        Assert.Empty(pooler.Runtime.Snapshot().Clients);

        // The one server went back to the pool: the next client gets it.
        await using var next = await pooler.OpenAsync(db);
        await using var command = new Npgsql.NpgsqlCommand("SELECT 2", next);
        Assert.Equal(2, await command.ExecuteScalarAsync());
    }
}
