// Defaults: what a key means when pooler.yaml leaves it out (values from DESIGN.md, not from ConfigDefaults).
using Tuki.Pool.Pooler.Configuration;

namespace Tuki.Pool.Pooler.Tests.Configuration;

public class YamlConfigLoaderDefaultsTests
{
    [Fact]
    public void Parse_OnlyOneDatabase_AppliesDocumentedDefaults()
    {
        var config = ConfigTestData.ParseValid(ConfigTestData.MinimalYaml);

        Assert.Equal(new ListenConfig("0.0.0.0", 6432), config.Listen);
        Assert.Equal(new MetricsConfig("0.0.0.0", 9127), config.Metrics);
        Assert.Empty(config.Admin.Users);
        Assert.Equal(AuthType.ScramSha256, config.Auth.Type);
        Assert.Empty(config.Users);

        var pool = config.Pool;
        Assert.Equal(PoolMode.Transaction, pool.Mode);
        Assert.Equal(20, pool.Size);
        Assert.Equal(0, pool.MinSize);
        Assert.Equal(0, pool.ReserveSize);
        Assert.Equal(10000, pool.MaxClientConnections);
        Assert.Equal(TimeSpan.FromSeconds(120), pool.Timeouts.QueryWait);
        Assert.Equal(TimeSpan.FromSeconds(5), pool.Timeouts.ServerConnect);
        Assert.Equal(TimeSpan.FromSeconds(600), pool.Timeouts.ServerIdle);
        Assert.Equal(TimeSpan.FromSeconds(3600), pool.Timeouts.ServerLifetime);
        Assert.Equal(TimeSpan.FromSeconds(15), pool.Timeouts.ClientLogin);
        Assert.Equal(TimeSpan.Zero, pool.Timeouts.IdleTransaction);
    }

    [Fact]
    public void Parse_DatabaseWithOnlyHost_DefaultsPortDbNameCapAndPool()
    {
        var config = ConfigTestData.ParseValid(ConfigTestData.MinimalYaml);

        var database = Assert.Single(config.Databases).Value;
        Assert.Equal("app", database.Name);
        Assert.Equal("db.internal", database.Host);
        Assert.Equal(5432, database.Port);
        Assert.Equal("app", database.DbName);
        Assert.Equal(0, database.MaxConnections);
        Assert.Equal(config.Pool, database.Pool);
    }

    [Fact]
    public void Parse_NullOrEmptySections_MeanDefaults()
    {
        var config = ConfigTestData.ParseValid("""
            listen:
            pool: ~
            admin: { users: null }
            databases:
              app: { host: h }
            """);

        Assert.Equal(6432, config.Listen.Port);
        Assert.Equal(20, config.Pool.Size);
        Assert.Empty(config.Admin.Users);
    }

    [Fact]
    public void Parse_PortsZero_AreAccepted()
    {
        // metrics: 0 disables the endpoint; listen: 0 asks the OS for a free port (per-test poolers).
        var config = ConfigTestData.ParseValid(ConfigTestData.MinimalYaml + "\nmetrics: { port: 0 }\nlisten: { port: 0 }");

        Assert.Equal(0, config.Metrics.Port);
        Assert.Equal(0, config.Listen.Port);
    }

    [Fact]
    public void Parse_TrustAuth_UserWithoutPasswordIsAccepted()
    {
        var config = ConfigTestData.ParseValid(ConfigTestData.MinimalYaml + """

            auth: { type: trust }
            users:
              dev:
            """);

        Assert.Equal(AuthType.Trust, config.Auth.Type);
        Assert.Null(config.Users["dev"].Password);
    }

    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("15s", 15_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("0", 0)]
    [InlineData("0s", 0)]
    public void Parse_DurationWithUnit_ReadsMilliseconds(string written, int milliseconds)
    {
        var config = ConfigTestData.ParseValid(ConfigTestData.MinimalYaml + $"\npool: {{ timeouts: {{ query_wait: {written} }} }}");

        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), config.Pool.Timeouts.QueryWait);
    }

    [Fact]
    public void Parse_AllEnumSpellings_MapToRecords()
    {
        var md5 = ConfigTestData.ParseValid(ConfigTestData.MinimalYaml + "\nauth: { type: md5 }\npool: { mode: transaction }");

        Assert.Equal(AuthType.Md5, md5.Auth.Type);
        Assert.Equal(PoolMode.Transaction, md5.Pool.Mode);
    }

    [Fact]
    public void Parse_SessionFeatures_MapToRecords()
    {
        var config = ConfigTestData.ParseValid(ConfigTestData.MinimalYaml + "\npool: { mode: session, size: 10, max_prepared_statements: 50, pinning: error, reset_query: 'RESET ALL' }");

        Assert.Equal(PoolMode.Session, config.Pool.Mode);
        Assert.Equal(50, config.Pool.MaxPreparedStatements);
        Assert.Equal(PinningPolicy.Error, config.Pool.Pinning);
        Assert.Equal(5, config.Pool.EffectiveMaxPinned);
        Assert.Equal("RESET ALL", config.Pool.ResetQuery);
        Assert.Equal(PoolMode.Statement, ConfigTestData.ParseValid(ConfigTestData.MinimalYaml + "\npool: { mode: statement }").Pool.Mode);
    }

    [Theory]
    [InlineData("pool: { size: 4, max_pinned: 5 }", "pool.max_pinned: must not exceed size (4): pinned clients would starve the pool")]
    [InlineData("pool: { pinning: sometimes }", "pool.pinning: expected pin or error, got sometimes")]
    [InlineData("pool: { reserve_size: 2 }", "pool.reserve_size: reserve pools are not available yet; only 0 is supported in this version")]
    public void Parse_FeatureNotBuiltYet_RefusedNotIgnored(string yaml, string expected)
    {
        var result = YamlConfigLoader.Parse(ConfigTestData.MinimalYaml + "\n" + yaml, _ => "x");
        Assert.False(result.Success);
        Assert.Contains(expected, result.Errors.Select(e => e.ToString()));
    }
}
