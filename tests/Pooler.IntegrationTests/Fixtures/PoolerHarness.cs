// A pooler started in-process for one test, on a free port, from YAML written in the test itself
// (PgBouncer's test habit: the config a scenario needs is visible in the scenario).
using Microsoft.Extensions.Logging;
using Npgsql;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Hosting;

namespace Tuki.Pool.Pooler.IntegrationTests.Fixtures;

public sealed class PoolerHarness : IAsyncDisposable
{
    private readonly PoolerRuntime _runtime;

    private PoolerHarness(PoolerRuntime runtime) => _runtime = runtime;

    public PoolerRuntime Runtime => _runtime;
    public int Port => _runtime.LocalEndPoint.Port;

    public static PoolerHarness Start(string yaml)
    {
        var loaded = YamlConfigLoader.Parse(yaml);
        if (!loaded.Success)
            throw new InvalidOperationException("test config invalid: " + string.Join("; ", loaded.Errors));
        // TUKI_TEST_LOG=Debug shows the pooler's own log lines while debugging a test.
        var level = Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("TUKI_TEST_LOG"), out var l) ? l : LogLevel.Warning;
        var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(level).AddSimpleConsole(o => o.SingleLine = true));
        var runtime = new PoolerRuntime(loaded.Config!, loggerFactory);
        runtime.Start();
        return new PoolerHarness(runtime);
    }

    /// <summary>A pooler in front of <paramref name="pg"/> serving one database and user (names as created by the
    /// fixture). <paramref name="pool"/> is the YAML under <c>pool:</c>; <paramref name="top"/> adds top-level lines.</summary>
    public static PoolerHarness Start(PostgresFixture pg, (string Database, string User, string Password) db,
        string pool = DefaultPool, string top = "", string auth = "scram-sha-256")
    {
        var yaml = $"""
            listen: {'{'} address: 127.0.0.1, port: 0 {'}'}
            metrics: {'{'} address: 127.0.0.1, port: 0 {'}'}
            auth: {'{'} type: {auth} {'}'}
            {top}
            pool:
            {Indent(pool, "  ")}
            databases:
              {db.Database}:
                host: {pg.Host}
                port: {pg.Port}
            users:
              {db.User}: {'{'} password: "{db.Password}" {'}'}
            """;
        return Start(yaml);
    }

    public const string DefaultPool = "size: 5\ntimeouts: { query_wait: 10s, server_connect: 5s, client_login: 5s }";

    private static string Indent(string text, string prefix) =>
        string.Join("\n", text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => prefix + l.Trim()));

    /// <summary>Npgsql connection string through the pooler. Npgsql's own pooling is off so every
    /// NpgsqlConnection is a real client connection of the pooler.</summary>
    public string ConnectionString((string Database, string User, string Password) db, Action<NpgsqlConnectionStringBuilder>? tweak = null)
    {
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Database = db.Database,
            Username = db.User,
            Password = db.Password,
            Pooling = false,
            Timeout = 15,
        };
        tweak?.Invoke(builder);
        return builder.ConnectionString;
    }

    public async Task<NpgsqlConnection> OpenAsync((string Database, string User, string Password) db, Action<NpgsqlConnectionStringBuilder>? tweak = null)
    {
        var connection = new NpgsqlConnection(ConnectionString(db, tweak));
        await connection.OpenAsync();
        return connection;
    }

    public async ValueTask DisposeAsync() => await _runtime.DisposeAsync();
}
