// Accepting clients: with the epoll loops (Linux) the listening socket is served by a readiness loop, one accept per
// event; these check that a burst larger than one event's worth is taken whole, and that stopping ends accepting.
using System.Net.Sockets;
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Operations;

[Collection("postgres")]
public sealed class AcceptTests(PostgresFixture pg)
{
    [Fact]
    public async Task ABurstOfConnects_IsAcceptedWholeAndEachClientServed()
    {
        var db = await pg.CreateDatabaseAsync("accept_burst");
        await using var pooler = OpsPooler.Start(pg, db);
        // 300 connections opened at once wait in the backlog together; each gets its answer to an SSLRequest.
        var clients = await Task.WhenAll(Enumerable.Range(0, 300).Select(_ => RawClient.ConnectAsync(pooler.Port)));
        try
        {
            await Task.WhenAll(clients.Select(c => c.SendAsync([0, 0, 0, 8, 0x04, 0xD2, 0x16, 0x2F])));
            var answers = await Task.WhenAll(clients.Select(c => c.ReadByteAsync(TimeSpan.FromSeconds(20))));
            Assert.All(answers, answer => Assert.Equal('N', answer));
        }
        finally
        {
            foreach (var client in clients)
                await client.DisposeAsync();
        }

        await using var connection = new NpgsqlConnection(
            $"Host=127.0.0.1;Port={pooler.Port};Database={db.Database};Username={db.User};Password={db.Password};Pooling=false");
        await connection.OpenAsync();
        await using var cmd = new NpgsqlCommand("SELECT 41 + 1", connection);
        Assert.Equal(42, (int)(await cmd.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Stop_EndsAcceptingAndLaterConnectsAreRefused()
    {
        var db = await pg.CreateDatabaseAsync("accept_stop");
        await using var pooler = OpsPooler.Start(pg, db);
        var port = pooler.Port;
        await (await RawClient.ConnectAsync(port)).DisposeAsync(); // accepting

        await pooler.Runtime.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));

        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var refused = await Assert.ThrowsAsync<SocketException>(() => socket.ConnectAsync("127.0.0.1", port));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }
}
