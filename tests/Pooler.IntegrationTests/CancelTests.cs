// CancelRequest reaches the right server with its real key, and only the query of the client that asked.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;
using static Tuki.Pool.Pooler.IntegrationTests.TransactionPoolingTests;

namespace Tuki.Pool.Pooler.IntegrationTests;

[Collection("postgres")]
public sealed class CancelTests(PostgresFixture pg)
{
    [Fact]
    public async Task Cancel_RunningQuery_CancelsOnlyThatClient()
    {
        var db = await pg.CreateDatabaseAsync("cancel");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 2");
        await using var victim = await pooler.OpenAsync(db);
        await using var bystander = await pooler.OpenAsync(db);

        await using var slow = new NpgsqlCommand("SELECT pg_sleep(30)", victim);
        await using var other = new NpgsqlCommand("SELECT pg_sleep(1.5), 'done'", bystander);
        var slowTask = slow.ExecuteNonQueryAsync();
        var otherTask = other.ExecuteReaderAsync();
        await Task.Delay(500);
        slow.Cancel();

        // Npgsql reports a user cancellation as OperationCanceledException carrying the server's 57014.
        var cancelled = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => slowTask);
        var error = Assert.IsType<PostgresException>(cancelled.InnerException);
        Assert.Equal("57014", error.SqlState);
        await using (var reader = await otherTask)
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal("done", reader.GetString(1));
        }
        Assert.Equal(1, await Scalar(victim, "SELECT 1"));
    }

    [Fact]
    public async Task Cancel_IdleClient_DoesNothingToOthers()
    {
        var db = await pg.CreateDatabaseAsync("cancel_idle");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        await using var idle = await pooler.OpenAsync(db);
        await using var busy = await pooler.OpenAsync(db);

        // busy holds the only server; a cancel for idle (bound to nothing) must not touch it.
        await using var command = new NpgsqlCommand("SELECT 7 FROM pg_sleep(1)", busy);
        var busyTask = command.ExecuteScalarAsync();
        await Task.Delay(300);
        idle.CreateCommand().Cancel();
        await using (var cancelAsIdle = new NpgsqlCommand("SELECT 1", idle))
            cancelAsIdle.Cancel();
        Assert.Equal(7, await busyTask);
    }
}
