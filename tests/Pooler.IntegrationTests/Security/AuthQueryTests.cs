// auth_query with SCRAM pass-through: pooler.yaml lists only the lookup user; the application's user is found in
// pg_shadow through the documented SECURITY DEFINER function, checked with SCRAM, and the pooler logs in to
// PostgreSQL as it with the keys the client's own exchange proved — no copy of its password anywhere.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Drivers;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Security;

[Collection("postgres")]
public sealed class AuthQueryTests(PostgresFixture pg)
{
    [Fact]
    public async Task OnlyTheAuthUserInConfig_NpgsqlAndPsqlLogIn_WrongPasswordRefused()
    {
        var db = await pg.CreateDatabaseAsync("authq");
        var authUser = "lookup_" + db.Database;
        var authPassword = "lookup-" + Guid.NewGuid().ToString("N");
        await using (var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(pg.SuperuserConnectionString) { Database = db.Database, Pooling = false }.ConnectionString))
        {
            await admin.OpenAsync();
            await using var setup = new NpgsqlCommand($"""
                CREATE ROLE {authUser} LOGIN PASSWORD '{authPassword}';
                CREATE SCHEMA tuki_pool;
                CREATE FUNCTION tuki_pool.user_lookup(i_username text, OUT usename name, OUT passwd text)
                  RETURNS record LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog
                  AS $$ SELECT usename, passwd FROM pg_catalog.pg_shadow WHERE usename = i_username $$;
                REVOKE ALL ON FUNCTION tuki_pool.user_lookup(text) FROM public;
                GRANT USAGE ON SCHEMA tuki_pool TO {authUser};
                GRANT EXECUTE ON FUNCTION tuki_pool.user_lookup(text) TO {authUser};
                GRANT CONNECT ON DATABASE "{db.Database}" TO {authUser};
                """, admin);
            await setup.ExecuteNonQueryAsync();
        }

        await using var pooler = PoolerHarness.Start($$"""
            listen: { address: 127.0.0.1, port: 0 }
            metrics: { address: 127.0.0.1, port: 0 }
            auth: { type: scram-sha-256, user: {{authUser}}, cache_ttl: 30s }
            pool: { size: 3, timeouts: { query_wait: 10s } }
            databases:
              {{db.Database}}: { host: {{pg.Host}}, port: {{pg.Port}} }
            users:
              {{authUser}}: { password: "{{authPassword}}" }
            """);

        // The application's user is not in pooler.yaml at all.
        await using (var connection = await pooler.OpenAsync(db))
        {
            await using var command = new NpgsqlCommand("SELECT current_user", connection);
            Assert.Equal(db.User, (string)(await command.ExecuteScalarAsync())!);
        }
        var psql = pg.FindTool("psql") ?? throw new InvalidOperationException("psql is not installed");
        var (exit, output) = await ToolRunner.RunAsync(psql, db.Password, TimeSpan.FromSeconds(60), "",
            ["-h", "127.0.0.1", "-p", pooler.Port.ToString(), "-U", db.User, "-d", db.Database, "-X", "-A", "-t", "-c", "SELECT 'psql ok'"]);
        Assert.True(exit == 0, output);
        Assert.Contains("psql ok", output);

        var wrong = await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db with { Password = "wrong" }));
        Assert.Equal("28P01", wrong.SqlState);
        var unknown = await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db with { User = "nobody_" + db.Database }));
        Assert.Equal("28P01", unknown.SqlState);
    }
}
