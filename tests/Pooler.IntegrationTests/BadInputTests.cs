// Garbage, absurd lengths and incomplete startups get an error or a clean close; everyone else keeps working.
using System.Buffers.Binary;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;
using static Tuki.Pool.Pooler.IntegrationTests.TransactionPoolingTests;

namespace Tuki.Pool.Pooler.IntegrationTests;

[Collection("postgres")]
public sealed class BadInputTests(PostgresFixture pg)
{
    [Fact]
    public async Task GarbageBytes_ClosedWithProtocolError()
    {
        var db = await pg.CreateDatabaseAsync("bad_garbage");
        await using var pooler = PoolerHarness.Start(pg, db);
        await using var bystander = await pooler.OpenAsync(db);

        await using var raw = await RawClient.ConnectAsync(pooler.Port);
        await raw.SendAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
        var reply = await raw.ReadMessageAsync();
        Assert.NotNull(reply);
        Assert.Equal('E', reply.Value.Type);
        Assert.Equal("08P01", RawClient.SqlState(reply.Value.Body));
        Assert.True(await raw.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));

        Assert.Equal(1, await Scalar(bystander, "SELECT 1"));
    }

    [Fact]
    public async Task StartupClaimingTwoGigabytes_RefusedAtOnce()
    {
        var db = await pg.CreateDatabaseAsync("bad_huge");
        await using var pooler = PoolerHarness.Start(pg, db);

        await using var raw = await RawClient.ConnectAsync(pooler.Port);
        var header = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, int.MaxValue);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), 196608);
        await raw.SendAsync(header);
        var reply = await raw.ReadMessageAsync(TimeSpan.FromSeconds(5));
        Assert.NotNull(reply);
        Assert.Equal("08P01", RawClient.SqlState(reply.Value.Body));
        Assert.True(await raw.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));

        await using var connection = await pooler.OpenAsync(db);
        Assert.Equal(1, await Scalar(connection, "SELECT 1"));
    }

    [Fact]
    public async Task StartupWithoutUser_Refused28000()
    {
        var db = await pg.CreateDatabaseAsync("bad_nouser");
        await using var pooler = PoolerHarness.Start(pg, db);
        await using var raw = await RawClient.ConnectAsync(pooler.Port);
        await raw.SendStartupAsync(("database", db.Database));
        var reply = await raw.ReadMessageAsync();
        Assert.NotNull(reply);
        Assert.Equal('E', reply.Value.Type);
        Assert.Equal("28000", RawClient.SqlState(reply.Value.Body));
        Assert.True(await raw.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task HugeMessageLengthAfterLogin_ClosedWithProtocolError()
    {
        var db = await pg.CreateDatabaseAsync("bad_msglen");
        await using var pooler = PoolerHarness.Start(pg, db, auth: "trust");
        await using var raw = await RawClient.ConnectAsync(pooler.Port);
        await raw.SendStartupAsync(("user", db.User), ("database", db.Database));
        await raw.ReadUntilReadyAsync();
        var message = new byte[5];
        message[0] = (byte)'Q';
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), 2); // shorter than its own length field
        await raw.SendAsync(message);
        var reply = await raw.ReadMessageAsync();
        Assert.NotNull(reply);
        Assert.Equal("08P01", RawClient.SqlState(reply.Value.Body));
        Assert.True(await raw.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task SilentClient_ClosedAfterLoginTimeout()
    {
        var db = await pg.CreateDatabaseAsync("bad_silent");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 2\ntimeouts: { client_login: 1s }");
        await using var raw = await RawClient.ConnectAsync(pooler.Port);
        await raw.SendAsync([0, 0]); // half a length, then nothing
        Assert.True(await raw.IsClosedByPeerAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ClientSilentMidScram_LoginTimeoutError()
    {
        var db = await pg.CreateDatabaseAsync("bad_silent_scram");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 2\ntimeouts: { client_login: 1s }");
        await using var raw = await RawClient.ConnectAsync(pooler.Port);
        await raw.SendStartupAsync(("user", db.User), ("database", db.Database));
        var sasl = await raw.ReadMessageAsync();
        Assert.Equal('R', sasl!.Value.Type); // AuthenticationSASL; the client never answers it
        var reply = await raw.ReadMessageAsync(TimeSpan.FromSeconds(10));
        Assert.NotNull(reply);
        Assert.Equal('E', reply.Value.Type);
        Assert.Equal("08P01", RawClient.SqlState(reply.Value.Body));
        Assert.Contains("client_login", System.Text.Encoding.UTF8.GetString(reply.Value.Body));
        Assert.True(await raw.IsClosedByPeerAsync(TimeSpan.FromSeconds(5)));
    }
}
