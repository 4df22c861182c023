// TLS on both sides: psql and Npgsql verify the pooler's certificate (verify-full), plain clients are refused under
// listen.tls.mode: require, and the pooler verifies PostgreSQL's certificate (server_tls verify-full) — the
// fixture's cluster runs with ssl=on and a certificate from its own throwaway CA.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Drivers;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Security;

[Collection("postgres")]
public sealed class TlsTests(PostgresFixture pg)
{
    [Fact]
    public async Task Clients_VerifyFull_AgainstThePoolersCertificate_PlainRefusedUnderRequire()
    {
        var certificates = TestCertificates.Create(Path.Combine(Path.GetTempPath(), "tuki-tls-" + Guid.NewGuid().ToString("N")));
        var db = await pg.CreateDatabaseAsync("tlsclient");
        await using var pooler = Start(db, "", pg.Host,
            listenTls: $", tls: {{ mode: require, certificate: {certificates.CertificateFile}, key: {certificates.KeyFile} }}");

        // psql (libpq): the certificate must chain to the CA and name the host it dialled.
        var psql = pg.FindTool("psql") ?? throw new InvalidOperationException("psql is not installed");
        var (exit, output) = await ToolRunner.RunAsync(psql, new Dictionary<string, string>
            {
                ["PGPASSWORD"] = db.Password,
                ["PGSSLMODE"] = "verify-full",
                ["PGSSLROOTCERT"] = certificates.CaFile,
            }, TimeSpan.FromSeconds(60), "",
            ["-h", "localhost", "-p", pooler.Port.ToString(), "-U", db.User, "-d", db.Database, "-X", "-c", "\\conninfo", "-c", "SELECT 'through tls'"]);
        Assert.True(exit == 0, output);
        Assert.Contains("SSL connection (protocol: TLSv1.", output);
        Assert.Contains("through tls", output);

        // Npgsql, verify-full with the CA as its root.
        await using (var connection = await pooler.OpenAsync(db, b =>
        {
            b.Host = "localhost";
            b.SslMode = SslMode.VerifyFull;
            b.RootCertificate = certificates.CaFile;
        }))
        {
            await using var command = new NpgsqlCommand("SELECT 40 + 2", connection);
            Assert.Equal(42, (int)(await command.ExecuteScalarAsync())!);
        }

        // A client that does not ask for TLS never gets to send its password in cleartext.
        var refused = await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db, b => b.SslMode = SslMode.Disable));
        Assert.Equal("28000", refused.SqlState);

        // A client checking the name against another CA's roots refuses the pooler.
        var stranger = TestCertificates.Create(Path.Combine(Path.GetTempPath(), "tuki-tls-" + Guid.NewGuid().ToString("N")));
        await Assert.ThrowsAnyAsync<Exception>(() => pooler.OpenAsync(db, b =>
        {
            b.SslMode = SslMode.VerifyFull;
            b.RootCertificate = stranger.CaFile;
        }));
    }

    [Fact]
    public async Task Pooler_VerifiesPostgres_VerifyFull()
    {
        var certificates = pg.ServerCertificates
            ?? throw new InvalidOperationException("server_tls tests need the fixture's own cluster (ssl=on with its CA); this run uses an external server");
        var db = await pg.CreateDatabaseAsync("tlsserver");
        await WaitForServerTlsAsync();

        await using (var pooler = Start(db, $"server_tls: {{ mode: verify-full, ca: {certificates.CaFile} }}", host: "localhost"))
        await using (var connection = await pooler.OpenAsync(db))
        {
            // PostgreSQL itself says the pooler's connection is encrypted.
            await using var command = new NpgsqlCommand("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", connection);
            Assert.True((bool)(await command.ExecuteScalarAsync())!);
        }

        // verify-full with the wrong CA, or against a name the certificate does not carry: no server, clear error.
        var stranger = TestCertificates.Create(Path.Combine(Path.GetTempPath(), "tuki-tls-" + Guid.NewGuid().ToString("N")));
        await using (var pooler = Start(db, $"server_tls: {{ mode: verify-full, ca: {stranger.CaFile} }}", host: "localhost"))
        {
            var error = await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db));
            Assert.Contains("TLS", error.MessageText);
        }
        await using (var pooler = Start(db, $"server_tls: {{ mode: verify-full, ca: {certificates.CaFile} }}", host: "127.0.0.2"))
        {
            await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db));
        }
    }

    private PoolerHarness Start((string Database, string User, string Password) db, string databaseLines, string host, string listenTls = "") =>
        PoolerHarness.Start($$"""
            listen: { address: 127.0.0.1, port: 0{{listenTls}} }
            metrics: { address: 127.0.0.1, port: 0 }
            pool: { size: 2, timeouts: { server_connect: 5s, query_wait: 10s } }
            databases:
              {{db.Database}}:
                host: {{host}}
                port: {{pg.Port}}
                {{databaseLines}}
            users:
              {{db.User}}: { password: "{{db.Password}}" }
            """);

    /// <summary>ssl=on is applied by a configuration reload, which PostgreSQL performs asynchronously.</summary>
    private async Task WaitForServerTlsAsync()
    {
        for (var i = 0; i < 50; i++)
        {
            await using var connection = new NpgsqlConnection(pg.SuperuserConnectionString + ";Pooling=false");
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SHOW ssl", connection);
            if ((string?)await command.ExecuteScalarAsync() == "on")
                return;
            await Task.Delay(100);
        }
        throw new TimeoutException("PostgreSQL did not turn ssl on");
    }
}
