// Clients that vanish (RST, no Terminate) at every phase of the protocol. Afterwards the pool's only server must be
// idle, outside any transaction, with no lock left in the database, and the next client must get it and see none
// of the vanished client's writes. Pool size 1: a server leaked or left dirty would block or taint that client.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;
using Xunit.Abstractions;

namespace Tuki.Pool.Pooler.IntegrationTests.Faults;

[Collection("postgres")]
public sealed class VanishingClientTests(PostgresFixture pg, ITestOutputHelper output)
{
    public enum Phase { MidStartupPacket, AfterSslRequest, AtSaslRequest, MidScram, MidPipelineNoSync, MidPipelineInTransaction, MidCopyIn, WaitingForServer }

    [Theory]
    [InlineData(Phase.MidStartupPacket)]
    [InlineData(Phase.AfterSslRequest)]
    [InlineData(Phase.AtSaslRequest)]
    [InlineData(Phase.MidScram)]
    [InlineData(Phase.MidPipelineNoSync)]
    [InlineData(Phase.MidPipelineInTransaction)]
    [InlineData(Phase.MidCopyIn)]
    [InlineData(Phase.WaitingForServer)]
    public async Task ClientVanishes_ServerLeftIdleAndClean_NextClientWorks(Phase phase)
    {
        var db = await pg.CreateDatabaseAsync("vanish_" + phase);
        var scram = phase is Phase.AtSaslRequest or Phase.MidScram;
        await using var pooler = PoolerHarness.Start(pg, db, auth: scram ? "scram-sha-256" : "trust",
            pool: "size: 1\ntimeouts: { query_wait: 10s, server_connect: 5s, client_login: 5s }");
        await using (var setup = await pooler.OpenAsync(db))
        await using (var create = new NpgsqlCommand("CREATE TABLE t (a int)", setup))
            await create.ExecuteNonQueryAsync();

        await VanishAsync(phase, pooler, db);

        var problem = await ServerChecks.WaitUntilCleanAsync(pg.SuperuserConnectionString, db.Database, db.User, poolSize: 1, TimeSpan.FromSeconds(10));
        Assert.True(problem is null, problem);
        await using var next = await pooler.OpenAsync(db, b => b.Timeout = 10);
        await using var count = new NpgsqlCommand("SELECT count(*) FROM t", next);
        Assert.Equal(0L, await count.ExecuteScalarAsync());
        Assert.Equal(0, pooler.Runtime.Clients.ClientCount - 1); // only `next` is still connected
    }

    private async Task VanishAsync(Phase phase, PoolerHarness pooler, (string Database, string User, string Password) db)
    {
        var client = await RawClient.ConnectAsync(pooler.Port);
        switch (phase)
        {
            case Phase.MidStartupPacket:
                await client.SendAsync([0, 0, 0, 40, 0, 3, 0, 0, (byte)'u', (byte)'s']);
                break;
            case Phase.AfterSslRequest:
                await client.SendAsync([0, 0, 0, 8, 4, 210, 22, 47]);
                Assert.Equal('N', await client.ReadByteAsync());
                break;
            case Phase.AtSaslRequest:
            case Phase.MidScram:
                await client.SendStartupAsync(("user", db.User), ("database", db.Database));
                var sasl = await client.ReadMessageAsync();
                Assert.Equal(10, Wire.AuthenticationCode(sasl!.Value.Body));
                if (phase == Phase.MidScram)
                {
                    await client.SendAsync(Wire.SaslInitialResponse("vanishingnonce"));
                    var next = await client.ReadMessageAsync();
                    Assert.Equal(11, Wire.AuthenticationCode(next!.Value.Body));
                }
                break;
            case Phase.MidPipelineNoSync:
            case Phase.MidPipelineInTransaction:
                await LoginAsync(client, db);
                if (phase == Phase.MidPipelineInTransaction)
                {
                    await client.SendQueryAsync("BEGIN; INSERT INTO t VALUES (1)");
                    Assert.Equal((byte)'T', (await client.ReadUntilReadyAsync())[^1].Body[0]);
                }
                // Parse/Bind/Execute of a named statement, then a flush-less pause: the server runs the INSERT
                // inside an implicit transaction that only a Sync would end.
                await client.SendAsync(Wire.Concat(Wire.Parse("s1", "INSERT INTO t VALUES (2)"), Wire.Bind("", "s1"), Wire.Execute(""), Wire.Message('H')));
                Assert.Equal('1', (await client.ReadMessageAsync())!.Value.Type); // ParseComplete
                break;
            case Phase.MidCopyIn:
                await LoginAsync(client, db);
                await client.SendQueryAsync("COPY t FROM STDIN");
                Assert.Equal('G', (await client.ReadMessageAsync())!.Value.Type);
                await client.SendAsync(Wire.CopyData("3\n4\n"));
                await Task.Delay(200);
                break;
            case Phase.WaitingForServer:
                await LoginAsync(client, db);
                // The only server is held by another client's open transaction: our query waits in the pool.
                await using (var holder = await pooler.OpenAsync(db))
                {
                    await using var tx = await holder.BeginTransactionAsync();
                    await using (var hold = new NpgsqlCommand("INSERT INTO t VALUES (5)", holder, tx))
                        await hold.ExecuteNonQueryAsync();
                    // Its own transaction: once it gets the server (the client long gone), it must be rolled back.
                    await client.SendQueryAsync("BEGIN; INSERT INTO t VALUES (6)");
                    await Task.Delay(300);
                    client.Kill();
                    await Task.Delay(100);
                    await tx.RollbackAsync();
                }
                output.WriteLine("waiting client killed while the server was held; holder rolled back");
                return;
        }
        client.Kill();
        output.WriteLine($"client killed at {phase}");
    }

    private static async Task LoginAsync(RawClient client, (string Database, string User, string Password) db)
    {
        await client.SendStartupAsync(("user", db.User), ("database", db.Database));
        Assert.Equal('Z', (await client.ReadUntilReadyAsync())[^1].Type);
    }
}
