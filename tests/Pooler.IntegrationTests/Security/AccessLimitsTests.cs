// Limits checked at login and on every message: client networks per database/user (like pg_hba.conf), client
// connections per user, logins per second per address, and the largest message a client may send.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Security;

[Collection("postgres")]
public sealed class AccessLimitsTests(PostgresFixture pg)
{
    [Fact]
    public async Task AllowLists_RefuseOtherNetworks_With28000()
    {
        var db = await pg.CreateDatabaseAsync("allow");
        await using (var open = Start(db, listen: "", database: "allow: [127.0.0.0/8]", user: "allow: [127.0.0.1, ::1]"))
        await using (var connection = await open.OpenAsync(db))
            Assert.Equal(1, (int)(await new NpgsqlCommand("SELECT 1", connection).ExecuteScalarAsync())!);

        await using var closed = Start(db, listen: "", database: "allow: [10.0.0.0/8]", user: "");
        var error = await Assert.ThrowsAsync<PostgresException>(() => closed.OpenAsync(db));
        Assert.Equal("28000", error.SqlState);
        Assert.Contains("127.0.0.1", error.MessageText);
    }

    [Fact]
    public async Task UserMaxConnections_RefusesTheNextClient_With53300_UntilOneLeaves()
    {
        var db = await pg.CreateDatabaseAsync("usermax");
        await using var pooler = Start(db, listen: "", database: "", user: "max_connections: 2");
        await using var first = await pooler.OpenAsync(db);
        var second = await pooler.OpenAsync(db);
        var error = await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db));
        Assert.Equal("53300", error.SqlState);
        Assert.Contains(db.User, error.MessageText);
        await second.DisposeAsync();
        // The session ends (and its count is released) once the pooler has read the client's Terminate.
        NpgsqlConnection? third = null;
        for (var attempt = 0; third is null && attempt < 50; attempt++)
        {
            try { third = await pooler.OpenAsync(db); }
            catch (PostgresException e) when (e.SqlState == "53300") { await Task.Delay(100); }
        }
        Assert.NotNull(third);
        await third.DisposeAsync();
    }

    [Fact]
    public async Task LoginRate_SlowsOneAddress_With53300()
    {
        var db = await pg.CreateDatabaseAsync("loginrate");
        await using var pooler = Start(db, listen: ", login_rate: 3", database: "", user: "");
        // Ten logins at once from 127.0.0.1: the burst of 3 gets in, most of the rest are turned away (a few may
        // ride on the tokens refilled while the burst logs in).
        var results = await Task.WhenAll(Enumerable.Range(0, 10).Select(async _ =>
        {
            try
            {
                await using var c = await pooler.OpenAsync(db);
                return "ok";
            }
            catch (PostgresException e) { return e.SqlState; }
        }));
        Assert.InRange(results.Count(r => r == "ok"), 3, 7);
        Assert.All(results.Where(r => r != "ok"), r => Assert.Equal("53300", r));
    }

    [Fact]
    public async Task MaxMessageSize_OverLimit_ClosedWith08P01_OthersUnaffected()
    {
        var db = await pg.CreateDatabaseAsync("maxmsg");
        await using var pooler = Start(db, listen: ", max_message_size: 65536", database: "", user: "");
        await using var bystander = await pooler.OpenAsync(db);
        await using var big = await pooler.OpenAsync(db);
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
            await new NpgsqlCommand("SELECT length('" + new string('x', 100_000) + "')", big).ExecuteScalarAsync());
        Assert.Contains("08P01", error.ToString());
        Assert.Equal(1, (int)(await new NpgsqlCommand("SELECT 1", bystander).ExecuteScalarAsync())!);
    }

    private PoolerHarness Start((string Database, string User, string Password) db, string listen, string database, string user) =>
        PoolerHarness.Start($$"""
            listen: { address: 127.0.0.1, port: 0{{listen}} }
            metrics: { address: 127.0.0.1, port: 0 }
            pool: { size: 2, timeouts: { query_wait: 10s } }
            databases:
              {{db.Database}}: { host: {{pg.Host}}, port: {{pg.Port}}{{(database.Length > 0 ? ", " + database : "")}} }
            users:
              {{db.User}}: { password: "{{db.Password}}"{{(user.Length > 0 ? ", " + user : "")}} }
            """);
}
