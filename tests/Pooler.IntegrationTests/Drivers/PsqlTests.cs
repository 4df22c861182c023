// psql (libpq) through the pooler: SSLRequest answered 'N', simple queries, a transaction, \copy both ways.
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Drivers;

[Collection("postgres")]
public sealed class PsqlTests(PostgresFixture pg)
{
    [Fact]
    public async Task Psql_ScriptWithTransactionAndCopy_Succeeds()
    {
        var psql = pg.FindTool("psql") ?? throw new InvalidOperationException("psql is not installed: test.sh installs postgresql-client");
        var db = await pg.CreateDatabaseAsync("psql");
        await using var pooler = PoolerHarness.Start(pg, db);
        var script = """
            \set ON_ERROR_STOP 1
            CREATE TABLE t (id int, name text);
            BEGIN;
            INSERT INTO t SELECT g, 'n' || g FROM generate_series(1, 1000) g;
            COMMIT;
            BEGIN;
            DELETE FROM t;
            ROLLBACK;
            \copy t FROM stdin
            5000	five-thousand
            \.
            \copy (SELECT count(*) FROM t) TO stdout
            SELECT 'app=' || current_setting('application_name');
            """;
        var (exit, output) = await ToolRunner.RunAsync(psql, db.Password, TimeSpan.FromSeconds(60), script,
            "-X", "-q", "-A", "-t", "-h", "127.0.0.1", "-p", pooler.Port.ToString(), "-U", db.User, "-d", db.Database);
        Assert.True(exit == 0, output);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("1001", lines);
        Assert.Contains("app=psql", lines);
    }

    [Fact]
    public async Task Psql_WrongPassword_ReportsAuthFailure()
    {
        var psql = pg.FindTool("psql") ?? throw new InvalidOperationException("psql is not installed");
        var db = await pg.CreateDatabaseAsync("psql_bad");
        await using var pooler = PoolerHarness.Start(pg, db);
        var (exit, output) = await ToolRunner.RunAsync(psql, "wrong", TimeSpan.FromSeconds(30), "",
            "-X", "-h", "127.0.0.1", "-p", pooler.Port.ToString(), "-U", db.User, "-d", db.Database, "-c", "SELECT 1");
        Assert.NotEqual(0, exit);
        Assert.Contains("password authentication failed", output);
    }
}
