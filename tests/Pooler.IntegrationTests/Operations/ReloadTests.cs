// Live reload: pool size 10 → 30 → 10 under pgbench with zero failed transactions and pg_stat_activity following;
// an invalid file keeps the old config and names the key; databases added and removed; the file watcher.
using System.Text.RegularExpressions;
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Drivers;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Operations;

[Collection("postgres")]
public sealed class ReloadTests(PostgresFixture pg)
{
    private const string Timeouts = "timeouts: { query_wait: 60s, client_login: 60s }";

    [Fact]
    public async Task Reload_SizeTenThirtyTenUnderPgbench_NoFailedTransactionsAndBackendsFollow()
    {
        var pgbench = pg.FindTool("pgbench") ?? throw new InvalidOperationException("pgbench is not installed: test.sh installs postgresql-contrib");
        var db = await pg.CreateDatabaseAsync("reload_size");
        await using var pooler = OpsPooler.Start(pg, db, pool: "size: 10\n" + Timeouts);
        string[] connection = ["-h", "127.0.0.1", "-p", pooler.Port.ToString(), "-U", db.User];
        var (initExit, initOutput) = await ToolRunner.RunAsync(pgbench, db.Password, TimeSpan.FromMinutes(2), "", ["-i", "-s", "1", "-q", .. connection, db.Database]);
        Assert.True(initExit == 0, initOutput);

        // Select-only keeps 100 clients busy on every server without row-lock queues dominating the run.
        var bench = ToolRunner.RunAsync(pgbench, db.Password, TimeSpan.FromMinutes(2), "", ["-c", "100", "-j", "2", "-T", "16", "-S", .. connection, db.Database]);
        // 100 pgbench logins (SCRAM) take a while on a busy machine: watch until the pool is full, 6 s at most.
        var atTen = await MaxBackendsAsync(db, TimeSpan.FromSeconds(6), stopAt: 10);

        pooler.Rewrite(pooler.Yaml("size: 30\n" + Timeouts));
        Assert.Equal(0, (await pooler.AdminPsqlAsync("RELOAD")).Exit);
        var maxAtThirty = await MaxBackendsAsync(db, TimeSpan.FromSeconds(3));

        pooler.Rewrite(pooler.Yaml("size: 10\n" + Timeouts));
        Assert.Equal(0, (await pooler.AdminPsqlAsync("RELOAD")).Exit);
        await Task.Delay(2000); // servers above the new size close as their transactions end
        var maxBackToTen = await MaxBackendsAsync(db, TimeSpan.FromSeconds(2));

        var (exit, output) = await bench;
        Assert.True(exit == 0, output);
        var failed = Regex.Match(output, @"number of failed transactions: (\d+)");
        Assert.True(!failed.Success || failed.Groups[1].Value == "0", output);
        Assert.Equal(10, atTen);
        Assert.InRange(maxAtThirty, 11, 30);
        Assert.InRange(maxBackToTen, 1, 10);
        Assert.Equal(2, OpsPooler.Sample((await pooler.GetAsync("/metrics")).Body, "tukipool_config_reloads_total", ("result", "success")));
    }

    [Fact]
    public async Task Reload_InvalidFile_KeepsOldConfigAndNamesTheKey()
    {
        var db = await pg.CreateDatabaseAsync("reload_bad");
        await using var pooler = OpsPooler.Start(pg, db, pool: "size: 10");
        var hashBefore = ConfigHash((await pooler.GetAsync("/metrics")).Body);

        pooler.Rewrite(pooler.Yaml("size: lots"));
        var (exit, output) = await pooler.AdminPsqlAsync("RELOAD");
        Assert.NotEqual(0, exit);
        Assert.Contains("F0000", output);
        Assert.Contains("pool.size: expected an integer", output);

        Assert.Equal(10, pooler.Runtime.Config.Pool.Size);
        var metrics = (await pooler.GetAsync("/metrics")).Body;
        Assert.Equal(1, OpsPooler.Sample(metrics, "tukipool_config_reloads_total", ("result", "failure")));
        Assert.Equal(hashBefore, ConfigHash(metrics));
        await using var client = new NpgsqlConnection(ConnectionString(pooler, db));
        await client.OpenAsync(); // still serving on the old file
    }

    [Fact]
    public async Task Reload_DatabaseAddedThenRemoved_AppearsThenDrains()
    {
        var db = await pg.CreateDatabaseAsync("reload_dbs");
        var other = await pg.CreateDatabaseAsync("reload_other", password: db.Password);
        await using (var grant = new NpgsqlConnection(pg.SuperuserConnectionString))
        {
            await grant.OpenAsync();
            await using var cmd = new NpgsqlCommand($"GRANT CONNECT ON DATABASE \"{other.Database}\" TO \"{db.User}\"", grant);
            await cmd.ExecuteNonQueryAsync();
        }
        await using var pooler = OpsPooler.Start(pg, db);
        var extra = $"{other.Database}: {{ host: {pg.Host}, port: {pg.Port} }}";
        pooler.Rewrite(pooler.Yaml("size: 10", extraDatabases: extra));
        Assert.Equal(0, (await pooler.AdminPsqlAsync("RELOAD")).Exit);

        await using var client = new NpgsqlConnection(ConnectionString(pooler, db, other.Database));
        await client.OpenAsync();
        await using var tx = await client.BeginTransactionAsync();
        await using (var cmd = new NpgsqlCommand("SELECT 1", client))
            await cmd.ExecuteScalarAsync();

        pooler.Rewrite(pooler.Yaml("size: 10"));
        Assert.Equal(0, (await pooler.AdminPsqlAsync("RELOAD")).Exit);
        // The open transaction finishes on its server; new logins to the removed database are refused.
        await using (var cmd = new NpgsqlCommand("SELECT 2", client))
            Assert.Equal(2, await cmd.ExecuteScalarAsync());
        await tx.CommitAsync();
        var refused = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            await using var late = new NpgsqlConnection(ConnectionString(pooler, db, other.Database));
            await late.OpenAsync();
        });
        Assert.Equal("3D000", refused.SqlState);
        Assert.Equal(0, await pg.CountBackendsAsync(other.Database, db.User)); // its server closed when it came back
    }

    [Fact]
    public async Task WatchFile_FileChanged_ReloadsWithoutASignal()
    {
        var db = await pg.CreateDatabaseAsync("reload_watch");
        await using var pooler = OpsPooler.Start(pg, db, pool: "size: 10", top: "reload: { watch_file: true }");
        pooler.Rewrite(pooler.Yaml("size: 7", top: "reload: { watch_file: true }"));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (pooler.Runtime.Config.Pool.Size != 7 && DateTime.UtcNow < deadline)
            await Task.Delay(100);
        Assert.Equal(7, pooler.Runtime.Config.Pool.Size);
    }

    private async Task<int> MaxBackendsAsync((string Database, string User, string Password) db, TimeSpan during, int stopAt = int.MaxValue)
    {
        var max = 0;
        var until = DateTime.UtcNow + during;
        while (DateTime.UtcNow < until && max < stopAt)
        {
            max = Math.Max(max, await pg.CountBackendsAsync(db.Database, db.User));
            await Task.Delay(100);
        }
        return max;
    }

    private static string ConfigHash(string metrics) => Regex.Match(metrics, "tukipool_config_info\\{hash=\"([0-9a-f]+)\"\\} 1").Groups[1].Value;

    private static string ConnectionString(OpsPooler pooler, (string Database, string User, string Password) db, string? database = null) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = pooler.Port, Database = database ?? db.Database, Username = db.User, Password = db.Password, Pooling = false,
        }.ConnectionString;
}
