// Per-database pool overrides: databases.X.pool replaces the top-level pool key by key, timeouts included.
using Tuki.Pool.Pooler.Configuration;

namespace Tuki.Pool.Pooler.Tests.Configuration;

public class YamlConfigLoaderOverrideTests
{
    private const string Yaml = """
        pool:
          mode: transaction
          size: 30
          min_size: 2
          timeouts:
            query_wait: 60s
            server_idle: 300s
        databases:
          reports:
            host: db.internal
            pool:
              size: 5
              timeouts:
                query_wait: 10s
          app:
            host: db.internal
        """;

    [Fact]
    public void Parse_DatabasePoolOverride_ReplacesOnlyTheKeysItSets()
    {
        var config = ConfigTestData.ParseValid(Yaml);

        var pool = config.Databases["reports"].Pool;
        Assert.Equal(5, pool.Size);
        Assert.Equal(TimeSpan.FromSeconds(10), pool.Timeouts.QueryWait);
        // Inherited from the top-level pool, including a sibling timeout of the one overridden.
        Assert.Equal(PoolMode.Transaction, pool.Mode);
        Assert.Equal(2, pool.MinSize);
        Assert.Equal(TimeSpan.FromSeconds(300), pool.Timeouts.ServerIdle);
        // Not set anywhere: the built-in default travels through the top-level pool.
        Assert.Equal(TimeSpan.FromSeconds(5), pool.Timeouts.ServerConnect);
    }

    [Fact]
    public void Parse_DatabasePoolOverride_LeavesTopLevelPoolAndOtherDatabasesAlone()
    {
        var config = ConfigTestData.ParseValid(Yaml);

        Assert.Equal(30, config.Pool.Size);
        Assert.Equal(TimeSpan.FromSeconds(60), config.Pool.Timeouts.QueryWait);
        Assert.Equal(config.Pool, config.Databases["app"].Pool);
    }
}
