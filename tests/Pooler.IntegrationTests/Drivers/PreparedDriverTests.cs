// Real drivers that prepare named statements, through the pooler in transaction mode: pool size 5, 50 concurrent
// clients × 200 transactions each, zero errors, and every transaction's effect checked in the database afterwards.
// The scripts live in tests/drivers; test.sh installs their interpreters and packages (Debian python3-psycopg,
// python3-asyncpg, libpostgresql-jdbc-java; npm pg and postgres).
using System.Text.RegularExpressions;
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Drivers;

[Collection("postgres")]
public sealed class PreparedDriverTests(PostgresFixture pg)
{
    private const int Clients = 50;
    private const int Transactions = 200;
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    [Fact]
    public Task Psycopg3_PrepareThresholdZero() => RunScriptAsync("psycopg3", "/usr/bin/python3", "psycopg3_prepared.py");

    [Fact]
    public Task Asyncpg_DefaultStatementCache() => RunScriptAsync("asyncpg", "/usr/bin/python3", "asyncpg_prepared.py");

    [Fact]
    public Task NodePostgres_NamedQueries() => RunScriptAsync("nodepg", "node", Path.Combine("node", "pg_named.js"));

    [Fact]
    public Task PostgresJs_PrepareTrue() => RunScriptAsync("postgresjs", "node", Path.Combine("node", "postgres_prepared.js"));

    [Fact]
    public Task Jdbc_PrepareThresholdOne() =>
        RunScriptAsync("jdbc", "java", "-cp", "/usr/share/java/postgresql.jar", Path.Combine("jdbc", "PreparedTest.java"));

    [Fact]
    public async Task Pgbench_PreparedMode_FiftyClients_NoFailures()
    {
        var pgbench = pg.FindTool("pgbench") ?? throw new InvalidOperationException("pgbench is not installed: test.sh installs postgresql-contrib");
        var db = await pg.CreateDatabaseAsync("bench_prep");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 5\ntimeouts: { query_wait: 60s, client_login: 60s }");
        string[] connection = ["-h", "127.0.0.1", "-p", pooler.Port.ToString(), "-U", db.User];
        var (initExit, initOutput) = await ToolRunner.RunAsync(pgbench, db.Password, TimeSpan.FromMinutes(2), "", ["-i", "-s", "1", "-q", .. connection, db.Database]);
        Assert.True(initExit == 0, initOutput);

        // pgbench 15 prepares each command of a script synchronously, just before its first use, which blocks the
        // whole thread: with -N (BEGIN ... END) a thread's client waiting for a server to prepare on would block
        // the thread's other client that holds one mid-transaction. One thread per client avoids that
        // pgbench-side deadlock (PgBouncer has it too; pgbench 16+ prepares the whole script up front).
        foreach (var (script, threads) in new[] { ("-S", "2"), ("-N", Clients.ToString()) })
        {
            var (exit, output) = await ToolRunner.RunAsync(pgbench, db.Password, Limit, "",
                ["-c", Clients.ToString(), "-j", threads, "-t", Transactions.ToString(), "-M", "prepared", script, .. connection, db.Database]);
            Assert.True(exit == 0, output);
            Assert.Matches(new Regex($@"number of transactions actually processed: {Clients * Transactions}/{Clients * Transactions}"), output);
            var failed = Regex.Match(output, @"number of failed transactions: (\d+)");
            Assert.True(!failed.Success || failed.Groups[1].Value == "0", output);
        }
        // -N updated pgbench_accounts once per transaction: the history table has exactly one row per transaction.
        await using var direct = new NpgsqlConnection(pg.ConnectionString(db.Database, db.User, db.Password));
        await direct.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM pgbench_history", direct);
        Assert.Equal((long)Clients * Transactions, (long)(await count.ExecuteScalarAsync())!);
    }

    private async Task RunScriptAsync(string name, string interpreter, params string[] args)
    {
        var db = await pg.CreateDatabaseAsync("drv_" + name);
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 5\ntimeouts: { query_wait: 60s, client_login: 60s }");
        await using (var setup = await pooler.OpenAsync(db))
        {
            await using var create = new NpgsqlCommand(
                $"CREATE TABLE counters (client int PRIMARY KEY, n int NOT NULL); INSERT INTO counters SELECT g, 0 FROM generate_series(0, {Clients - 1}) g", setup);
            await create.ExecuteNonQueryAsync();
        }

        var url = $"postgresql://{db.User}:{db.Password}@127.0.0.1:{pooler.Port}/{db.Database}";
        var environment = new Dictionary<string, string>
        {
            ["TUKI_DSN"] = url,
            ["TUKI_JDBC_URL"] = $"jdbc:postgresql://127.0.0.1:{pooler.Port}/{db.Database}",
            ["PGUSER"] = db.User,
            ["PGPASSWORD"] = db.Password,
            ["PGSSLMODE"] = "disable", // node-postgres treats "prefer" as "require"
            ["CLIENTS"] = Clients.ToString(),
            ["TXNS"] = Transactions.ToString(),
        };
        var scripts = Path.Combine(RepositoryRoot(), "tests", "drivers");
        string[] arguments = [.. args.Select(a => a.EndsWith(".py") || a.EndsWith(".js") || a.EndsWith(".java") ? Path.Combine(scripts, a) : a)];
        var (exit, output) = await ToolRunner.RunAsync(interpreter, environment, Limit, "", arguments);
        Assert.True(exit == 0, $"{name} failed (exit {exit}):\n{output}");
        Assert.Contains($"{Clients * Transactions} transactions", output);

        await using var direct = new NpgsqlConnection(pg.ConnectionString(db.Database, db.User, db.Password));
        await direct.OpenAsync();
        await using var check = new NpgsqlCommand("SELECT count(*) FILTER (WHERE n = $1) FROM counters", direct);
        check.Parameters.AddWithValue(Transactions);
        Assert.Equal((long)Clients, (long)(await check.ExecuteScalarAsync())!);
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Tuki.Pool.sln")))
                return dir.FullName;
        throw new InvalidOperationException("Tuki.Pool.sln not found above " + AppContext.BaseDirectory);
    }
}
