// Session state in transaction mode: a client's SETs follow it to every server and never reach another client;
// what cannot move between servers pins the client (LISTEN/NOTIFY delivered) or fails clearly (pinning: error).
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Sessions;

[Collection("postgres")]
public sealed class SessionStateTests(PostgresFixture pg)
{
    [Fact]
    public async Task SessionSettings_FollowTheirClient_AndNeverLeak()
    {
        var db = await pg.CreateDatabaseAsync("isolation");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 2\ntimeouts: { query_wait: 30s }");
        await using (var setup = await pooler.OpenAsync(db))
            await Exec(setup, "CREATE SCHEMA tenant_a; CREATE TABLE tenant_a.t (v text); INSERT INTO tenant_a.t VALUES ('a'); CREATE TABLE public.t (v text); INSERT INTO public.t VALUES ('public')");

        await using var a = await pooler.OpenAsync(db);
        await using var b = await pooler.OpenAsync(db);
        await Exec(a, "SET search_path = tenant_a, public");
        await Exec(a, "SET statement_timeout = '7s'");
        await Exec(a, "SET TimeZone = 'Asia/Tokyo'");

        // B runs interleaved with A on a pool of two, so it keeps landing on the servers A just used.
        var checkB = Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                Assert.Equal("public", await Scalar(b, "SELECT v FROM t"));
                Assert.Equal("0", await Scalar(b, "SHOW statement_timeout"));
                Assert.NotEqual("Asia/Tokyo", await Scalar(b, "SHOW TimeZone"));
            }
        });
        for (var i = 0; i < 100; i++)
        {
            await using var tx = await a.BeginTransactionAsync();
            Assert.Equal("a", await Scalar(a, "SELECT v FROM t"));
            Assert.Equal("7s", await Scalar(a, "SHOW statement_timeout"));
            Assert.Equal("Asia/Tokyo", await Scalar(a, "SHOW TimeZone"));
            await tx.CommitAsync();
        }
        await checkB;

        // RESET takes a setting back for A only; SET LOCAL needs nothing.
        await Exec(a, "RESET statement_timeout");
        Assert.Equal("0", await Scalar(a, "SHOW statement_timeout"));
        await using (var tx = await a.BeginTransactionAsync())
        {
            await Exec(a, "SET LOCAL statement_timeout = '3s'");
            Assert.Equal("3s", await Scalar(a, "SHOW statement_timeout"));
            await tx.CommitAsync();
        }
        Assert.Equal("0", await Scalar(a, "SHOW statement_timeout"));
    }

    [Fact]
    public async Task SetRole_NeverLeaksToAnotherClient()
    {
        var db = await pg.CreateDatabaseAsync("role");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        await using (var admin = new NpgsqlConnection(pg.SuperuserConnectionString))
        {
            await admin.OpenAsync();
            await Exec(admin, $"CREATE ROLE reader_{db.Database} NOLOGIN; GRANT reader_{db.Database} TO \"{db.User}\"");
        }
        await using var a = await pooler.OpenAsync(db);
        await Exec(a, $"SET ROLE reader_{db.Database}");
        Assert.Equal($"reader_{db.Database}", await Scalar(a, "SELECT current_user"));

        await using var b = await pooler.OpenAsync(db);
        Assert.Equal(db.User, await Scalar(b, "SELECT current_user"));
        Assert.Equal($"reader_{db.Database}", await Scalar(a, "SELECT current_user"));
    }

    [Fact]
    public async Task ListenNotify_PinsTheListener_AndDeliversEndToEnd()
    {
        var db = await pg.CreateDatabaseAsync("listen");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 3");
        await using var listener = await pooler.OpenAsync(db);
        var received = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        listener.Notification += (_, e) => received.TrySetResult(e.Channel + ":" + e.Payload);
        await Exec(listener, "LISTEN tickets");

        // Other clients keep the other servers busy with transactions meanwhile.
        await using var other = await pooler.OpenAsync(db);
        for (var i = 0; i < 20; i++)
            await Scalar(other, "SELECT 1");
        await Exec(other, "NOTIFY tickets, 'sold'");

        var wait = listener.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("tickets:sold", await received.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await wait;
    }

    [Fact]
    public async Task PinningError_RefusesClearly_AndTheClientGoesOn()
    {
        var db = await pg.CreateDatabaseAsync("pinerr");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 2\npinning: error");
        await using var client = await pooler.OpenAsync(db);
        var error = await Assert.ThrowsAsync<PostgresException>(() => Exec(client, "LISTEN tickets"));
        Assert.Equal("0A000", error.SqlState);
        Assert.Contains("LISTEN", error.MessageText);
        Assert.Contains("pinning", error.Hint);

        error = await Assert.ThrowsAsync<PostgresException>(() => Exec(client, "CREATE TEMP TABLE scratch (x int)"));
        Assert.Equal("0A000", error.SqlState);
        Assert.Equal("1", await Scalar(client, "SELECT 1"));
    }

    [Fact]
    public async Task TempTable_PinsItsClient_AndIsGoneForTheNext()
    {
        var db = await pg.CreateDatabaseAsync("temp");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1\nmax_pinned: 1");
        await using (var a = await pooler.OpenAsync(db))
        {
            await Exec(a, "CREATE TEMP TABLE scratch (x int)");
            await Exec(a, "INSERT INTO scratch VALUES (1)");
            for (var i = 0; i < 5; i++)
                Assert.Equal("1", await Scalar(a, "SELECT count(*) FROM scratch"));
        }
        // The only server went through reset_query (DISCARD ALL) when A left.
        await using var b = await pooler.OpenAsync(db);
        Assert.Equal("0", await Scalar(b, "SELECT count(*) FROM pg_class WHERE relname = 'scratch' AND relpersistence = 't'"));
    }

    [Fact]
    public async Task MaxPinned_Reached_RefusesInsteadOfStarving()
    {
        var db = await pg.CreateDatabaseAsync("maxpin");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 2\nmax_pinned: 1");
        await using var first = await pooler.OpenAsync(db);
        await Exec(first, "SELECT pg_advisory_lock(42)");
        await using var second = await pooler.OpenAsync(db);
        var error = await Assert.ThrowsAsync<PostgresException>(() => Exec(second, "LISTEN x"));
        Assert.Equal("0A000", error.SqlState);
        Assert.Contains("max_pinned", error.Hint);
        Assert.Equal("1", await Scalar(second, "SELECT 1"));
    }

    [Fact]
    public async Task StatementMode_RefusesTransactionBlocks()
    {
        var db = await pg.CreateDatabaseAsync("stmtmode");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 2\nmode: statement");
        await using var client = await pooler.OpenAsync(db);
        Assert.Equal("1", await Scalar(client, "SELECT 1"));
        var error = await Assert.ThrowsAsync<PostgresException>(() => Exec(client, "BEGIN"));
        Assert.Equal("0A000", error.SqlState);
        Assert.Contains("statement pooling mode", error.MessageText);
        Assert.Equal("2", await Scalar(client, "SELECT 2"));
    }

    [Fact]
    public async Task SessionMode_KeepsOneServer_AndResetsItForTheNextClient()
    {
        var db = await pg.CreateDatabaseAsync("sessmode");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1\nmode: session");
        int pid;
        await using (var a = await pooler.OpenAsync(db))
        {
            pid = int.Parse((await Scalar(a, "SELECT pg_backend_pid()"))!);
            await Exec(a, "SET statement_timeout = '9s'; PREPARE p AS SELECT 1; CREATE TEMP TABLE s (x int)");
            for (var i = 0; i < 5; i++)
                Assert.Equal(pid.ToString(), await Scalar(a, "SELECT pg_backend_pid()"));
            Assert.Equal("1", await Scalar(a, "EXECUTE p"));
        }
        await using var b = await pooler.OpenAsync(db);
        Assert.Equal(pid.ToString(), await Scalar(b, "SELECT pg_backend_pid()"));
        Assert.Equal("0", await Scalar(b, "SHOW statement_timeout"));
        Assert.Equal("0", await Scalar(b, "SELECT count(*) FROM pg_prepared_statements"));
    }

    [Fact]
    public async Task StartupSettings_SharedByIdenticalLogins_ChangedByOneOnly()
    {
        // Logins that send the same startup packet share its parsed form and settings table (StartupPacketCache):
        // one client's SET must copy the table, never change what the others (or the next login) start from.
        var db = await pg.CreateDatabaseAsync("startup_shared");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        void Same(NpgsqlConnectionStringBuilder b)
        {
            b.ApplicationName = "twin";
            b.Options = "-c statement_timeout=5s";
        }

        await using var a = await pooler.OpenAsync(db, Same);
        await using var b = await pooler.OpenAsync(db, Same);
        await Exec(a, "SET statement_timeout = '7s'");
        await Exec(a, "SET application_name = 'changed'");
        Assert.Equal("7s", await Scalar(a, "SHOW statement_timeout"));
        Assert.Equal("5s", await Scalar(b, "SHOW statement_timeout")); // the one server, just used by a
        Assert.Equal("twin", await Scalar(b, "SHOW application_name"));
        await using var c = await pooler.OpenAsync(db, Same);
        Assert.Equal("5s", await Scalar(c, "SHOW statement_timeout"));
        Assert.Equal("twin", await Scalar(c, "SHOW application_name"));
        Assert.Equal("changed", await Scalar(a, "SHOW application_name"));
    }

    private static async Task Exec(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<string?> Scalar(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        return (await command.ExecuteScalarAsync())?.ToString();
    }
}
