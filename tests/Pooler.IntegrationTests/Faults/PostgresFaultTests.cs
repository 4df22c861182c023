// PostgreSQL failing under the pooler while clients work: restarted, its backends killed, down when the pooler
// starts. The pooler is never restarted; what clients lose and how long recovery takes is printed (test output).
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;
using Xunit.Abstractions;
using static Tuki.Pool.Pooler.IntegrationTests.Faults.TransactionLoad;

namespace Tuki.Pool.Pooler.IntegrationTests.Faults;

[Collection("postgres")]
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class PostgresFaultTests(PostgresFixture pg, ITestOutputHelper output)
{
    private static PoolerHarness StartPooler(int port, (string Database, string User, string Password) db) => PoolerHarness.Start($$"""
        listen: { address: 127.0.0.1, port: 0 }
        metrics: { address: 127.0.0.1, port: 0 }
        auth: { type: scram-sha-256 }
        pool:
          size: {{FaultSettings.PoolSize}}
          timeouts: { query_wait: 5s, server_connect: 2s, client_login: 5s }
        databases:
          {{db.Database}}: { host: 127.0.0.1, port: {{port}} }
        users:
          {{db.User}}: { password: "{{db.Password}}" }
        """);

    [Fact]
    public async Task PostgresRestartedUnderLoad_OnlyInFlightTransactionsFail_PoolerRecovers()
    {
        await using var server = await DedicatedPostgres.StartAsync();
        if (server is null) { output.WriteLine("skipped: no local PostgreSQL binaries"); return; }
        var db = server.Database;
        await using var pooler = StartPooler(server.Port, db);
        var clients = pooler.ConnectionString(db, b => b.Timeout = 5);
        await TransactionLoad.CreateTableAsync(clients);

        var load = new TransactionLoad(clients);
        using var stop = new CancellationTokenSource();
        var running = load.RunAsync(FaultSettings.Workers, stop.Token);
        await Task.Delay(FaultSettings.Warmup);
        var committedBefore = load.Count(Outcome.Committed);

        var fault = load.Now;
        await server.RestartAsync();
        var restarted = load.Now - fault;
        // Recovery counts from the moment pg_ctl returned: PostgreSQL is up again, the pooler must follow.
        var (first, all) = await WaitForRecoveryAsync(load, fault + restarted);
        await Task.Delay(FaultSettings.Afterwards);
        await stop.CancelAsync();
        await running;

        var (rows, unconfirmed) = await load.VerifyAsync(clients);
        Report("PostgreSQL restart (pg_ctl restart -m fast)", load, committedBefore, restarted, first, all, rows, unconfirmed);
        Assert.True(all is not null, $"not every worker committed again within {FaultSettings.RecoveryLimit.TotalSeconds} s");
        // Each worker can lose the transaction it had in flight, no more; attempts while the server was down are
        // refused with 08006/57P03 before reaching it. Commits before and after are all there (VerifyAsync).
        Assert.True(load.Count(Outcome.Failed) <= FaultSettings.Workers, $"{load.Count(Outcome.Failed)} transactions lost");
        Assert.Null(await ServerChecks.WaitUntilCleanAsync(server.SuperuserConnectionString, db.Database, db.User, FaultSettings.PoolSize, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task ServerConnectionsTerminatedUnderLoad_OnlyTheirClientsFail_PoolRecovers()
    {
        var db = await pg.CreateDatabaseAsync("fault_terminate");
        await using var pooler = PoolerHarness.Start(pg, db, pool: FaultSettings.Pool);
        var clients = pooler.ConnectionString(db, b => b.Timeout = 5);
        await TransactionLoad.CreateTableAsync(clients);

        var load = new TransactionLoad(clients);
        using var stop = new CancellationTokenSource();
        var running = load.RunAsync(FaultSettings.Workers, stop.Token);
        await Task.Delay(FaultSettings.Warmup);

        var kills = 0;
        var random = new Random(6);
        await using (var admin = new NpgsqlConnection(pg.SuperuserConnectionString))
        {
            await admin.OpenAsync();
            for (var i = 0; i < FaultSettings.Kills; i++)
            {
                var pids = await ServerChecks.BackendPidsAsync(pg.SuperuserConnectionString, db.Database, db.User);
                if (pids.Count > 0)
                {
                    await using var kill = new NpgsqlCommand($"SELECT pg_terminate_backend({pids[random.Next(pids.Count)]})", admin);
                    if (await kill.ExecuteScalarAsync() is true)
                        kills++;
                }
                await Task.Delay(150 + random.Next(200));
            }
        }
        var lastKill = load.Now;
        var (first, all) = await WaitForRecoveryAsync(load, lastKill);
        await Task.Delay(FaultSettings.Afterwards);
        await stop.CancelAsync();
        await running;

        var (rows, unconfirmed) = await load.VerifyAsync(clients);
        Report($"pg_terminate_backend x{kills}", load, 0, TimeSpan.Zero, first, all, rows, unconfirmed);
        // A killed server costs at most the one transaction bound to it (an idle one costs nothing: it is checked
        // before reuse); no login fails, since PostgreSQL stays up.
        Assert.True(load.Count(Outcome.Failed) <= kills, $"{load.Count(Outcome.Failed)} failed transactions for {kills} killed servers");
        Assert.Equal(0, load.Count(Outcome.ConnectFailed));
        Assert.True(all is not null, "not every worker committed after the last kill");
        Assert.Null(await ServerChecks.WaitUntilCleanAsync(pg.SuperuserConnectionString, db.Database, db.User, FaultSettings.PoolSize, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task PostgresDownAtPoolerStart_ClientsGet08006_RecoverWhenItComesUp()
    {
        await using var server = await DedicatedPostgres.StartAsync();
        if (server is null) { output.WriteLine("skipped: no local PostgreSQL binaries"); return; }
        var db = server.Database;
        await server.StopAsync();

        await using var pooler = StartPooler(server.Port, db);
        var clients = pooler.ConnectionString(db, b => b.Timeout = 10);
        var error = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var connection = new NpgsqlConnection(clients);
            await connection.OpenAsync();
        });
        output.WriteLine($"while PostgreSQL is down: {error.SqlState} {error.MessageText} (hint: {error.Hint})");
        Assert.Equal("08006", error.SqlState);
        Assert.Contains(db.Database, error.MessageText);

        var upAt = DateTime.UtcNow;
        await server.StartAgainAsync();
        var started = DateTime.UtcNow - upAt;
        TimeSpan? recovered = null;
        while (DateTime.UtcNow - upAt < FaultSettings.RecoveryLimit && recovered is null)
        {
            try
            {
                await using var connection = new NpgsqlConnection(clients);
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT 1", connection);
                Assert.Equal(1, await command.ExecuteScalarAsync());
                recovered = DateTime.UtcNow - upAt;
            }
            catch (PostgresException e) when (e.SqlState == "08006")
            {
                await Task.Delay(100);
            }
        }
        output.WriteLine($"pg_ctl start took {started.TotalMilliseconds:0} ms; first client query {recovered?.TotalMilliseconds:0} ms after start began");
        Assert.NotNull(recovered);
    }

    private static async Task<(TimeSpan? First, TimeSpan? All)> WaitForRecoveryAsync(TransactionLoad load, TimeSpan fault)
    {
        while (load.Now - fault < FaultSettings.RecoveryLimit)
        {
            var recovery = load.Recovery(fault, FaultSettings.Workers);
            if (recovery.All is not null)
                return recovery;
            await Task.Delay(100);
        }
        return load.Recovery(fault, FaultSettings.Workers);
    }

    private void Report(string fault, TransactionLoad load, int committedBefore, TimeSpan faultDuration, TimeSpan? first, TimeSpan? all, int rows, int unconfirmed)
    {
        output.WriteLine($"FAULT {fault}: {FaultSettings.Workers} workers, pool {FaultSettings.PoolSize}");
        output.WriteLine($"  committed {load.Count(Outcome.Committed)} ({committedBefore} before the fault), transactions lost {load.Count(Outcome.Failed)}, " +
            $"refused while down {load.Count(Outcome.Refused)}, logins refused {load.Count(Outcome.ConnectFailed)}, rows {rows} ({unconfirmed} committed without the client seeing it)");
        if (faultDuration > TimeSpan.Zero)
            output.WriteLine($"  fault itself took {faultDuration.TotalMilliseconds:0} ms");
        output.WriteLine($"  recovery: first commit {first?.TotalMilliseconds:0} ms after the fault ended, every worker {all?.TotalMilliseconds:0} ms");
        foreach (var error in load.Attempts.Where(a => a.Error is not null).GroupBy(a => a.Error).Take(6))
            output.WriteLine($"  {error.Count()} x {error.Key}");
    }
}
