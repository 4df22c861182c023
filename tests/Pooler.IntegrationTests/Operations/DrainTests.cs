// Graceful drain (SIGTERM, SIGINT, admin SHUTDOWN): /readyz turns 503 first, idle clients are told 57P01, no
// transaction that had started is cut, and the process (or runtime) is done within shutdown_timeout.
using System.Diagnostics;
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Operations;

[Collection("postgres")]
public sealed class DrainTests(PostgresFixture pg)
{
    [Fact]
    public async Task Stop_UnderLoad_NoStartedTransactionCutAndReadyzGoesFirst()
    {
        var db = await pg.CreateDatabaseAsync("drain_load");
        await using var pooler = OpsPooler.Start(pg, db, pool: "size: 5", top: "shutdown_timeout: 10s");
        await using (var setup = new NpgsqlConnection(ConnectionString(pooler, db)))
        {
            await setup.OpenAsync();
            await using var cmd = new NpgsqlCommand("CREATE TABLE done (worker int, seq int)", setup);
            await cmd.ExecuteNonQueryAsync();
        }

        var committed = 0;
        var cut = new List<string>();
        var refusedWith57P01 = 0;
        var stopAt = DateTime.UtcNow + TimeSpan.FromSeconds(30); // bound, in case the drain never comes
        var workers = Enumerable.Range(0, 20).Select(worker => Task.Run(async () =>
        {
            await using var connection = new NpgsqlConnection(ConnectionString(pooler, db));
            await connection.OpenAsync();
            for (var seq = 0; DateTime.UtcNow < stopAt; seq++)
            {
                try
                {
                    await ExecuteAsync(connection, "BEGIN");
                }
                catch (Exception ex) when (ex is NpgsqlException)
                {
                    if (ex is PostgresException { SqlState: "57P01" }) Interlocked.Increment(ref refusedWith57P01);
                    return; // refused before the transaction started: allowed
                }
                try
                {
                    await ExecuteAsync(connection, $"INSERT INTO done VALUES ({worker}, {seq})");
                    await ExecuteAsync(connection, "SELECT pg_sleep(0.1)");
                    await ExecuteAsync(connection, "COMMIT");
                    Interlocked.Increment(ref committed);
                }
                catch (Exception ex) when (ex is NpgsqlException)
                {
                    lock (cut) cut.Add($"worker {worker} seq {seq}: {ex.Message}");
                    return;
                }
            }
        })).ToList();

        await Task.Delay(1500);
        Assert.True(committed > 0, "the load did not start");
        var watch = Stopwatch.StartNew();
        var stopping = pooler.Runtime.StopAsync();
        var (readyStatus, readyBody) = await pooler.GetAsync("/readyz");
        await stopping.WaitAsync(TimeSpan.FromSeconds(20));
        watch.Stop();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal(503, readyStatus);
        Assert.Contains("draining", readyBody);
        Assert.True(cut.Count == 0, "transactions cut by the drain: " + string.Join("; ", cut));
        Assert.True(refusedWith57P01 > 0, "clients should be told 57P01");
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"drain took {watch.Elapsed}");
        await using var direct = new NpgsqlConnection(pg.ConnectionString(db.Database, db.User, db.Password));
        await direct.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*)::int FROM done", direct);
        Assert.Equal(committed, (int)(await count.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task Stop_TransactionLongerThanTimeout_IsCutAtTheDeadline()
    {
        var db = await pg.CreateDatabaseAsync("drain_deadline");
        await using var pooler = OpsPooler.Start(pg, db, top: "shutdown_timeout: 1s");
        await using var client = new NpgsqlConnection(ConnectionString(pooler, db));
        await client.OpenAsync();
        await using var tx = await client.BeginTransactionAsync();
        await ExecuteAsync(client, "SELECT 1");

        var watch = Stopwatch.StartNew();
        await pooler.Runtime.StopAsync().WaitAsync(TimeSpan.FromSeconds(15));
        Assert.InRange(watch.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(8));
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => ExecuteAsync(client, "SELECT 2"));
    }

    [Fact]
    public async Task Sigterm_RealProcessWithOpenTransaction_FinishesItAndExitsZero()
    {
        var db = await pg.CreateDatabaseAsync("drain_sigterm");
        var directory = Directory.CreateTempSubdirectory("tuki-sigterm-").FullName;
        var port = OpsPooler.FreePort();
        var config = Path.Combine(directory, "pooler.yaml");
        File.WriteAllText(config, $$"""
            listen: { address: 127.0.0.1, port: {{port}} }
            metrics: { address: 127.0.0.1, port: 0 }
            shutdown_timeout: 20s
            databases:
              {{db.Database}}: { host: {{pg.Host}}, port: {{pg.Port}} }
            users:
              {{db.User}}: { password: "{{db.Password}}" }
            """);
        var dll = Path.Combine(AppContext.BaseDirectory, "Tuki.Pool.Pooler.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { dll, "--config", config }) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            var builder = new NpgsqlConnectionStringBuilder
            {
                Host = "127.0.0.1", Port = port, Database = db.Database, Username = db.User, Password = db.Password, Pooling = false, Timeout = 5,
            };
            await using var client = new NpgsqlConnection(builder.ConnectionString);
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (true)
            {
                try { await client.OpenAsync(); break; }
                catch (NpgsqlException) when (DateTime.UtcNow < deadline) { await Task.Delay(200); }
            }
            await ExecuteAsync(client, "BEGIN");
            await ExecuteAsync(client, "CREATE TABLE survived (x int)");

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString()])) await kill.WaitForExitAsync();
            await Task.Delay(500); // the pooler is draining now; the open transaction goes on
            await ExecuteAsync(client, "INSERT INTO survived VALUES (1)");
            await ExecuteAsync(client, "COMMIT");

            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}: {output}");
            await using var direct = new NpgsqlConnection(pg.ConnectionString(db.Database, db.User, db.Password));
            await direct.OpenAsync();
            await using var count = new NpgsqlCommand("SELECT count(*)::int FROM survived", direct);
            Assert.Equal(1, (int)(await count.ExecuteScalarAsync())!);
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var cmd = new NpgsqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync();
    }

    private static string ConnectionString(OpsPooler pooler, (string Database, string User, string Password) db) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1", Port = pooler.Port, Database = db.Database, Username = db.User, Password = db.Password, Pooling = false,
        }.ConnectionString;
}
