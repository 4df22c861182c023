// Prepared statements at the wire, where drivers would hide the details: the exact reply sequence for pipelines
// across Syncs, failures in the middle of a pipeline, Close, DEALLOCATE and DISCARD ALL as SQL. Pool size 1 with
// a second client in between, so every client keeps landing on a server another client used last.
using System.Buffers.Binary;
using System.Text;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Sessions;

[Collection("postgres")]
public sealed class StatementProtocolTests(PostgresFixture pg)
{
    [Fact]
    public async Task PipelineAcrossSyncs_FailedParse_ThenBindOfItsName_FailsLikePostgres()
    {
        var (pooler, db) = await StartAsync("pipefail");
        await using var _ = pooler;
        await using var client = await LoginAsync(pooler, db);

        // Group 1: a Parse that fails. Group 2 (same write): Bind of that name. PostgreSQL: 42703, then 26000.
        await client.SendAsync([.. Parse("s1", "SELECT no_such_column"), .. Sync(), .. Bind("s1"), .. Execute(), .. Sync()]);
        Assert.Equal("E Z", Types(await client.ReadUntilReadyAsync()));
        var second = await client.ReadUntilReadyAsync();
        Assert.Equal("E Z", Types(second));
        Assert.Equal("26000", RawClient.SqlState(second[0].Body));

        // Group 1 prepares, group 2 uses it: both in one write.
        await client.SendAsync([.. Parse("s1", "SELECT 41 + 1"), .. Sync(), .. Bind("s1"), .. Execute(), .. Sync()]);
        Assert.Equal("1 Z", Types(await client.ReadUntilReadyAsync()));
        var rows = await client.ReadUntilReadyAsync();
        Assert.Equal("2 D C Z", Types(rows));
        Assert.Equal("42", Column(rows[1].Body));
    }

    [Fact]
    public async Task ErrorBeforeSync_SkipsThePrepare_AndTheNameStaysUnknown()
    {
        var (pooler, db) = await StartAsync("midpipe");
        await using var _ = pooler;
        await using var client = await LoginAsync(pooler, db);

        // 1/0 fails (at Bind: planning folds it); the Parse of s2 after it is skipped by the server, so s2 must not
        // exist after.
        await client.SendAsync([.. Parse("", "SELECT 1/0"), .. Bind(""), .. Execute(), .. Parse("s2", "SELECT 2"), .. Sync()]);
        Assert.Equal("1 E Z", Types(await client.ReadUntilReadyAsync()));
        await client.SendAsync([.. Bind("s2"), .. Execute(), .. Sync()]);
        var reply = await client.ReadUntilReadyAsync();
        Assert.Equal("E Z", Types(reply));
        Assert.Equal("26000", RawClient.SqlState(reply[0].Body));

        // Prepared for real this time, and used from another transaction after another client had the server.
        await client.SendAsync([.. Parse("s2", "SELECT 2"), .. Sync()]);
        Assert.Equal("1 Z", Types(await client.ReadUntilReadyAsync()));
        await using (var other = await LoginAsync(pooler, db))
        {
            await other.SendQueryAsync("SELECT 1");
            await other.ReadUntilReadyAsync();
        }
        await client.SendAsync([.. Bind("s2"), .. Execute(), .. Sync()]);
        Assert.Equal("2 D C Z", Types(await client.ReadUntilReadyAsync()));
    }

    [Fact]
    public async Task ReparseOnServerThatHasIt_AnswersParseComplete_InOrder()
    {
        var (pooler, db) = await StartAsync("reparse");
        await using var _ = pooler;
        await using var a = await LoginAsync(pooler, db);
        await using var b = await LoginAsync(pooler, db);

        await a.SendAsync([.. Parse("x", "SELECT 'same'"), .. Sync()]);
        Assert.Equal("1 Z", Types(await a.ReadUntilReadyAsync()));
        // B prepares the same text under another name on the same (only) server: no second Parse reaches it,
        // yet B sees ParseComplete before BindComplete, exactly as from its own server.
        await b.SendAsync([.. Parse("y", "SELECT 'same'"), .. Bind("y"), .. Execute(), .. Close('S', "y"), .. Sync()]);
        var reply = await b.ReadUntilReadyAsync();
        Assert.Equal("1 2 D C 3 Z", Types(reply));
        Assert.Equal("same", Column(reply[2].Body));
        // Closing y forgot B's name, not the server's copy A still uses.
        await a.SendAsync([.. Bind("x"), .. Execute(), .. Sync()]);
        Assert.Equal("2 D C Z", Types(await a.ReadUntilReadyAsync()));
        await b.SendAsync([.. Bind("y"), .. Execute(), .. Sync()]);
        var closed = await b.ReadUntilReadyAsync();
        Assert.Equal("26000", RawClient.SqlState(closed[0].Body));
    }

    [Fact]
    public async Task DeallocateAndDiscardAll_AsSql_ActOnTheClientsNames()
    {
        var (pooler, db) = await StartAsync("dealloc");
        await using var _ = pooler;
        await using var client = await LoginAsync(pooler, db);

        await client.SendAsync([.. Parse("p1", "SELECT 1"), .. Parse("p2", "SELECT 2"), .. Sync()]);
        Assert.Equal("1 1 Z", Types(await client.ReadUntilReadyAsync()));

        await client.SendQueryAsync("DEALLOCATE p1");
        var deallocated = await client.ReadUntilReadyAsync();
        Assert.Equal("C Z", Types(deallocated));
        Assert.Equal("DEALLOCATE", Encoding.UTF8.GetString(deallocated[0].Body).TrimEnd('\0'));
        await client.SendAsync([.. Bind("p1"), .. Execute(), .. Sync()]);
        Assert.Equal("26000", RawClient.SqlState((await client.ReadUntilReadyAsync())[0].Body));
        await client.SendAsync([.. Bind("p2"), .. Execute(), .. Sync()]);
        Assert.Equal("2 D C Z", Types(await client.ReadUntilReadyAsync()));

        await client.SendQueryAsync("DISCARD ALL");
        Assert.Equal("C Z", Types(await client.ReadUntilReadyAsync()));
        await client.SendAsync([.. Bind("p2"), .. Execute(), .. Sync()]);
        Assert.Equal("26000", RawClient.SqlState((await client.ReadUntilReadyAsync())[0].Body));

        // Inside a transaction the pooler cannot answer for the server: a clear error instead.
        await client.SendAsync([.. Parse("p3", "SELECT 3"), .. Sync()]);
        await client.ReadUntilReadyAsync();
        await client.SendQueryAsync("BEGIN");
        await client.ReadUntilReadyAsync();
        await client.SendQueryAsync("DEALLOCATE p3");
        var refused = await client.ReadUntilReadyAsync();
        Assert.Equal("0A000", RawClient.SqlState(refused[0].Body));
        await client.SendQueryAsync("ROLLBACK");
        Assert.Equal((byte)'I', (await client.ReadUntilReadyAsync())[^1].Body[0]);
    }

    [Fact]
    public async Task LargeStatementsAndParameters_AreRenamedWhileStreamed()
    {
        var (pooler, db) = await StartAsync("large");
        await using var _ = pooler;
        await using var client = await LoginAsync(pooler, db);

        // A 100 KB named statement (kept whole) and a 300 KB parameter bound to a named statement (streamed).
        var big = "SELECT length('" + new string('x', 100_000) + "')";
        await client.SendAsync([.. Parse("big", big), .. Parse("len", "SELECT length($1::text)"), .. Sync()]);
        Assert.Equal("1 1 Z", Types(await client.ReadUntilReadyAsync()));
        // Another client empties the only server (in a transaction, so the server itself runs it): both statements
        // must be prepared again, pipelined in front of the client's Binds.
        await using (var other = await LoginAsync(pooler, db))
        {
            await other.SendQueryAsync("BEGIN; DEALLOCATE ALL; COMMIT");
            await other.ReadUntilReadyAsync();
            await other.SendQueryAsync("SELECT count(*) FROM pg_prepared_statements");
            Assert.Equal("0", Column((await other.ReadUntilReadyAsync())[1].Body));
        }
        var value = Encoding.UTF8.GetBytes(new string('y', 300_000));
        byte[] length = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, value.Length);
        var bind = Message('B', [.. CString(""), .. CString("len"), 0, 0, 0, 1, .. length, .. value, 0, 0]);
        await client.SendAsync([.. Bind("big"), .. Execute(), .. bind, .. Execute(), .. Sync()]);
        var reply = await client.ReadUntilReadyAsync();
        Assert.Equal("2 D C 2 D C Z", Types(reply));
        Assert.Equal("100000", Column(reply[1].Body));
        Assert.Equal("300000", Column(reply[4].Body));
    }

    private async Task<(PoolerHarness, (string Database, string User, string Password))> StartAsync(string name)
    {
        var db = await pg.CreateDatabaseAsync(name);
        return (PoolerHarness.Start(pg, db, pool: "size: 1", auth: "trust"), db);
    }

    private static async Task<RawClient> LoginAsync(PoolerHarness pooler, (string Database, string User, string Password) db)
    {
        var client = await RawClient.ConnectAsync(pooler.Port);
        await client.SendStartupAsync(("user", db.User), ("database", db.Database));
        Assert.Equal('Z', (await client.ReadUntilReadyAsync())[^1].Type);
        return client;
    }

    private static string Types(List<(char Type, byte[] Body)> messages) => string.Join(' ', messages.Select(m => m.Type));

    private static string Column(byte[] dataRow)
    {
        var length = BinaryPrimitives.ReadInt32BigEndian(dataRow.AsSpan(2));
        return Encoding.UTF8.GetString(dataRow, 6, length);
    }

    private static byte[] Message(char type, byte[] body)
    {
        var message = new byte[5 + body.Length];
        message[0] = (byte)type;
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 4 + body.Length);
        body.CopyTo(message, 5);
        return message;
    }

    private static byte[] CString(string s) => [.. Encoding.UTF8.GetBytes(s), 0];

    private static byte[] Parse(string name, string sql) => Message('P', [.. CString(name), .. CString(sql), 0, 0]);

    // Portal "", statement name, no parameter formats, no parameters, no result formats.
    private static byte[] Bind(string statement) => Message('B', [.. CString(""), .. CString(statement), 0, 0, 0, 0, 0, 0]);

    private static byte[] Execute() => Message('E', [.. CString(""), 0, 0, 0, 0]);

    private static byte[] Close(char kind, string name) => Message('C', [(byte)kind, .. CString(name)]);

    private static byte[] Sync() => Message('S', []);
}
