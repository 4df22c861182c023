// A pooler started from a pooler.yaml file on disk (so RELOAD has something to re-read), with the metrics endpoint
// on a free port and an admin user: the fixture of the operations tests (metrics, admin console, reload, drain).
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Hosting;
using Tuki.Pool.Pooler.IntegrationTests.Drivers;

namespace Tuki.Pool.Pooler.IntegrationTests.Fixtures;

public sealed partial class OpsPooler : IAsyncDisposable
{
    public const string AdminUser = "ops_admin";
    public readonly string AdminPassword = "adm-" + Guid.NewGuid().ToString("N")[..16];

    private readonly PostgresFixture _pg;
    private readonly string _directory = Directory.CreateTempSubdirectory("tuki-ops-").FullName;
    private readonly (string Database, string User, string Password) _db;
    private readonly int _metricsPort = FreePort();

    private OpsPooler(PostgresFixture pg, (string Database, string User, string Password) db)
    {
        _pg = pg;
        _db = db;
    }

    public PoolerRuntime Runtime { get; private set; } = null!;
    public int Port => Runtime.LocalEndPoint.Port;
    public int MetricsPort => Runtime.MetricsEndPoint!.Port;
    public string ConfigPath => Path.Combine(_directory, "pooler.yaml");

    /// <summary>Starts a pooler for <paramref name="db"/>; <paramref name="pool"/> is the YAML under <c>pool:</c>,
    /// <paramref name="top"/> extra top-level lines.</summary>
    public static OpsPooler Start(PostgresFixture pg, (string Database, string User, string Password) db, string pool = "size: 10", string top = "")
    {
        var ops = new OpsPooler(pg, db);
        File.WriteAllText(ops.ConfigPath, ops.Yaml(pool, top));
        var loaded = YamlConfigLoader.Load(ops.ConfigPath);
        if (!loaded.Success)
            throw new InvalidOperationException("test config invalid: " + string.Join("; ", loaded.Errors));
        var level = Enum.TryParse<LogLevel>(Environment.GetEnvironmentVariable("TUKI_TEST_LOG"), out var l) ? l : LogLevel.Warning;
        var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(level).AddSimpleConsole(o => o.SingleLine = true));
        ops.Runtime = new PoolerRuntime(loaded.Config, loggerFactory, ops.ConfigPath, loaded.Hash);
        ops.Runtime.Start();
        return ops;
    }

    /// <summary>The file's text for these pool settings (the same shape every time, so a test rewrites one key).</summary>
    public string Yaml(string pool, string top = "", string extraDatabases = "") => $"""
        listen: {'{'} address: 127.0.0.1, port: {(Runtime is null ? 0 : Port)} {'}'}
        metrics: {'{'} address: 127.0.0.1, port: {_metricsPort} {'}'}
        admin: {'{'} users: [{AdminUser}] {'}'}
        {top}
        pool:
        {Indent(pool, "  ")}
        databases:
          {_db.Database}:
            host: {_pg.Host}
            port: {_pg.Port}
        {Indent(extraDatabases, "  ")}
        users:
          {_db.User}: {'{'} password: "{_db.Password}" {'}'}
          {AdminUser}: {'{'} password: "{AdminPassword}" {'}'}
        """;

    public void Rewrite(string yaml) => File.WriteAllText(ConfigPath, yaml);

    /// <summary>GET on the metrics endpoint: status code and body.</summary>
    public async Task<(int Status, string Body)> GetAsync(string path)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        using var response = await http.GetAsync($"http://127.0.0.1:{MetricsPort}{path}");
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Runs <paramref name="sql"/> in the admin console with psql (unaligned, '|' separated, with headers).</summary>
    public async Task<(int Exit, string Output)> AdminPsqlAsync(string sql, string database = "pooler", string? user = null, string? password = null)
    {
        var psql = _pg.FindTool("psql") ?? throw new InvalidOperationException("psql is not installed: test.sh installs postgresql-client");
        return await ToolRunner.RunAsync(psql, password ?? AdminPassword, TimeSpan.FromSeconds(60), "",
            "-X", "-A", "-F", "|", "-v", "VERBOSITY=verbose", "-c", sql, "-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-U", user ?? AdminUser, "-d", database);
    }

    /// <summary>psql's unaligned output as rows of named columns (header line first, "(n rows)" footer dropped).</summary>
    public static List<Dictionary<string, string>> Rows(string output)
    {
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => !l.StartsWith('(')).ToList();
        var header = lines[0].Split('|');
        return lines.Skip(1).Select(l => l.Split('|')).Where(v => v.Length == header.Length)
            .Select(v => header.Zip(v).ToDictionary(p => p.First, p => p.Second)).ToList();
    }

    /// <summary>The value of one sample of <paramref name="name"/> whose labels include <paramref name="labels"/>, summed
    /// over the samples that match (so state-less sums are easy); null when none matches.</summary>
    public static double? Sample(string metrics, string name, params (string Name, string Value)[] labels)
    {
        double? sum = null;
        foreach (Match m in SampleLine().Matches(metrics))
        {
            if (m.Groups["name"].Value != name)
                continue;
            var text = m.Groups["labels"].Value;
            if (labels.All(l => text.Contains($"{l.Name}=\"{l.Value}\"", StringComparison.Ordinal)))
                sum = (sum ?? 0) + double.Parse(m.Groups["value"].Value, CultureInfo.InvariantCulture);
        }
        return sum;
    }

    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{(?<labels>[^}]*)\})? (?<value>\S+)$", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    public static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    private static string Indent(string text, string prefix) =>
        string.Join("\n", text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => prefix + l.Trim()));

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { }
    }
}
