// pgbench through a pool of 10: TPC-B and select-only extended, zero failed transactions, and PostgreSQL never
// sees more than 10 backends for the database/user. (The 200-client, 20-second runs of the issue are in the note;
// here the runs are shorter to fit CI.)
using System.Text.RegularExpressions;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Drivers;

[Collection("postgres")]
public sealed class PgbenchTests(PostgresFixture pg)
{
    [Theory]
    [InlineData("tpcb", new string[0])]
    [InlineData("select_extended", new[] { "-S", "-M", "extended" })]
    public async Task Pgbench_TwoHundredClients_PoolOfTen_NoFailures(string name, string[] mode)
    {
        var pgbench = pg.FindTool("pgbench") ?? throw new InvalidOperationException("pgbench is not installed: test.sh installs postgresql-contrib");
        var db = await pg.CreateDatabaseAsync("bench_" + name);
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 10\ntimeouts: { query_wait: 60s, client_login: 60s }");
        string[] connection = ["-h", "127.0.0.1", "-p", pooler.Port.ToString(), "-U", db.User];

        var (initExit, initOutput) = await ToolRunner.RunAsync(pgbench, db.Password, TimeSpan.FromMinutes(2), "",
            ["-i", "-s", "1", "-q", .. connection, db.Database]);
        Assert.True(initExit == 0, initOutput);

        var maxBackends = 0;
        using var stop = new CancellationTokenSource();
        var watcher = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                maxBackends = Math.Max(maxBackends, await pg.CountBackendsAsync(db.Database, db.User));
                await Task.Delay(50);
            }
        });
        var (exit, output) = await ToolRunner.RunAsync(pgbench, db.Password, TimeSpan.FromMinutes(2), "",
            ["-c", "200", "-j", "2", "-T", "5", .. mode, .. connection, db.Database]);
        stop.Cancel();
        await watcher;

        Assert.True(exit == 0, output);
        var processed = Regex.Match(output, @"number of transactions actually processed: (\d+)");
        Assert.True(processed.Success && long.Parse(processed.Groups[1].Value) > 0, output);
        var failed = Regex.Match(output, @"number of failed transactions: (\d+)");
        Assert.True(!failed.Success || failed.Groups[1].Value == "0", output);
        Assert.InRange(maxBackends, 1, 10);
    }
}
