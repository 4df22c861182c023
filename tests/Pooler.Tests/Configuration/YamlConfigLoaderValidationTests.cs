// Validation: each rule's error names the YAML path and says what is expected; all errors come back together.
using Tuki.Pool.Pooler.Configuration;

namespace Tuki.Pool.Pooler.Tests.Configuration;

public class YamlConfigLoaderValidationTests
{
    [Fact]
    public void Parse_DatabasePortOutOfRange_ReportsPathExpectedAndActual()
    {
        var result = ConfigTestData.Parse("""
            databases:
              app:
                host: db.internal
                port: 70000
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("databases.app.port: expected 1-65535, got 70000", error.ToString());
        Assert.Equal("databases.app.port", error.Path);
        Assert.Null(result.Config);
        Assert.False(result.Success);
    }

    [Theory]
    [InlineData("listen: { port: 65536 }", "listen.port: expected 0-65535, got 65536")]
    [InlineData("listen: { port: http }", "listen.port: expected an integer 0-65535, got http")]
    [InlineData("listen: { address: localhost }", "listen.address: expected an IP address such as 0.0.0.0, 127.0.0.1 or ::, got localhost")]
    [InlineData("metrics: { port: -1 }", "metrics.port: expected 0-65535, got -1")]
    [InlineData("auth: { type: password }", "auth.type: expected scram-sha-256, md5 or trust, got password")]
    [InlineData("pool: { mode: batch }", "pool.mode: expected transaction, session or statement, got batch")]
    [InlineData("pool: { size: 0 }", "pool.size: expected 1-10000, got 0")]
    [InlineData("pool: { size: 10001 }", "pool.size: expected 1-10000, got 10001")]
    [InlineData("pool: { min_size: -1 }", "pool.min_size: expected 0-10000, got -1")]
    [InlineData("pool: { size: 5, min_size: 6 }", "pool.min_size: expected 0-5 (at most pool.size), got 6")]
    [InlineData("pool: { reserve_size: -1 }", "pool.reserve_size: expected 0-10000, got -1")]
    [InlineData("pool: { max_client_connections: 0 }", "pool.max_client_connections: expected 1-1000000, got 0")]
    [InlineData("pool: { max_client_connections: 1000001 }", "pool.max_client_connections: expected 1-1000000, got 1000001")]
    [InlineData("admin: { users: pooler_admin }", "admin.users: expected a list such as [a, b], got a single value")]
    [InlineData("admin: { users: [ok, \"\"] }", "admin.users[1]: must not be empty")]
    [InlineData("admin: { users: [\"a\\0b\"] }", "admin.users[0]: must not contain a NUL character")]
    [InlineData("pool: 20", "pool: expected a mapping, got a single value")]
    [InlineData("listen: { port: [1, 2] }", "listen.port: expected a value, got a list")]
    public void Parse_TopLevelValueOutOfRange_ReportsExactError(string extraYaml, string expected)
    {
        ConfigTestData.AssertError(ConfigTestData.Parse(ConfigTestData.MinimalYaml + "\n" + extraYaml), expected);
    }

    [Theory]
    [InlineData("-5s")]
    [InlineData("30")]
    [InlineData("5 s")]
    [InlineData("5d")]
    [InlineData("1.5s")]
    public void Parse_DurationNegativeOrWithoutUnit_NamesKeyAndExpectedForm(string written)
    {
        var result = ConfigTestData.Parse(ConfigTestData.MinimalYaml + $"\npool: {{ timeouts: {{ server_idle: {written} }} }}");

        ConfigTestData.AssertError(result,
            $"pool.timeouts.server_idle: expected a duration such as 500ms, 15s, 5m or 1h (or 0), got {written}");
    }

    [Theory]
    [InlineData("server_connect")]
    [InlineData("client_login")]
    public void Parse_TimeoutThatMustBePositiveIsZero_ReportsError(string key)
    {
        var result = ConfigTestData.Parse(ConfigTestData.MinimalYaml + $"\npool: {{ timeouts: {{ {key}: 0 }} }}");

        ConfigTestData.AssertError(result, $"pool.timeouts.{key}: expected more than 0 (a duration such as 5s), got 0");
    }

    [Fact]
    public void Parse_DurationAboveTimerLimit_ReportsMaximum()
    {
        var result = ConfigTestData.Parse(ConfigTestData.MinimalYaml + "\npool: { timeouts: { server_lifetime: 1000h } }");

        ConfigTestData.AssertError(result, "pool.timeouts.server_lifetime: expected at most 596h, got 1000h");
    }

    [Fact]
    public void Parse_NoDatabases_ReportsOneIsRequired()
    {
        ConfigTestData.AssertError(ConfigTestData.Parse("pool: { size: 10 }"), "databases: at least one database is required");
        ConfigTestData.AssertError(ConfigTestData.Parse("databases: {}"), "databases: at least one database is required");
    }

    [Fact]
    public void Parse_DatabaseWithoutHost_ReportsRequired()
    {
        var result = ConfigTestData.Parse("""
            databases:
              app: { port: 5432 }
              other:
            """);

        ConfigTestData.AssertError(result, "databases.app.host: required");
        ConfigTestData.AssertError(result, "databases.other.host: required");
    }

    [Fact]
    public void Parse_DatabaseHostEmpty_ReportsMustNotBeEmpty()
    {
        ConfigTestData.AssertError(ConfigTestData.Parse("databases: { app: { host: \"\" } }"), "databases.app.host: must not be empty");
    }

    [Fact]
    public void Parse_MaxConnectionsNegative_ReportsRange()
    {
        ConfigTestData.AssertError(
            ConfigTestData.Parse("databases: { app: { host: h, max_connections: -1 } }"),
            "databases.app.max_connections: expected 0-1000000, got -1");
    }

    [Fact]
    public void Parse_DatabaseMinSizeAboveOverriddenSize_ReportsAtDatabasePath()
    {
        var result = ConfigTestData.Parse("""
            databases:
              app:
                host: h
                pool: { size: 4, min_size: 5 }
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("databases.app.pool.min_size: expected 0-4 (at most databases.app.pool.size), got 5", error.ToString());
    }

    [Fact]
    public void Parse_DatabaseSizeBelowInheritedMinSize_SaysMinSizeIsInherited()
    {
        var result = ConfigTestData.Parse("""
            pool: { min_size: 10 }
            databases:
              app:
                host: h
                pool: { size: 5 }
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("databases.app.pool.min_size: expected 0-5 (at most databases.app.pool.size), got 10 (inherited from pool.min_size)", error.ToString());
    }

    [Fact]
    public void Parse_TopLevelMinSizeAboveSize_IsReportedOnceNotPerDatabase()
    {
        var result = ConfigTestData.Parse("""
            pool: { size: 5, min_size: 6 }
            databases:
              a: { host: h }
              b: { host: h }
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("pool.min_size", error.Path);
    }

    [Theory]
    [InlineData("scram-sha-256")]
    [InlineData("md5")]
    public void Parse_UserWithoutPasswordUnderPasswordAuth_ReportsRequired(string authType)
    {
        var result = ConfigTestData.Parse(ConfigTestData.MinimalYaml + $"\nauth: {{ type: {authType} }}\nusers:\n  app: {{}}");

        ConfigTestData.AssertError(result, $"users.app.password: required when auth.type is {authType}");
    }

    [Fact]
    public void Parse_UserWithoutPasswordAndDefaultAuth_ReportsRequiredWithScram()
    {
        var result = ConfigTestData.Parse(ConfigTestData.MinimalYaml + "\nusers:\n  app:");

        ConfigTestData.AssertError(result, "users.app.password: required when auth.type is scram-sha-256");
    }

    [Fact]
    public void Parse_EmptyPassword_ReportsMustNotBeEmpty()
    {
        var result = ConfigTestData.Parse(ConfigTestData.MinimalYaml + "\nusers:\n  app: { password: \"\" }");

        ConfigTestData.AssertError(result, "users.app.password: must not be empty");
    }

    [Fact]
    public void Parse_EmptyOrNulNames_AreRefused()
    {
        var result = ConfigTestData.Parse("""
            databases:
              "": { host: h }
              "a\0b": { host: h }
              app: { host: h, dbname: "x\0y" }
            users:
              "": { password: p }
              "u\0": { password: p }
            """);

        ConfigTestData.AssertError(result, "databases: database name \"\" must not be empty");
        ConfigTestData.AssertError(result, "databases: database name \"a\\0b\" must not contain a NUL character");
        ConfigTestData.AssertError(result, "databases.app.dbname: must not contain a NUL character");
        ConfigTestData.AssertError(result, "users: user name \"\" must not be empty");
        ConfigTestData.AssertError(result, "users: user name \"u\\0\" must not contain a NUL character");
    }

    [Fact]
    public void Parse_DatabaseNamedLikeAdminConsole_IsRefused()
    {
        var result = ConfigTestData.Parse("databases: { pooler: { host: h } }");

        var error = Assert.Single(result.Errors);
        Assert.Equal("databases.pooler", error.Path);
        Assert.StartsWith("the name pooler is reserved for the admin console", error.Problem);
    }

    [Fact]
    public void Parse_SeveralProblems_ReportsAllOfThemAtOnce()
    {
        var result = ConfigTestData.Parse("""
            listen: { port: -1 }
            pool:
              mode: batch
              timeouts: { query_wait: 30 }
            databases:
              app: { port: 70000 }
            users:
              app: {}
            """);

        Assert.Null(result.Config);
        string[] expected =
        [
            "listen.port: expected 0-65535, got -1",
            "pool.mode: expected transaction, session or statement, got batch",
            "pool.timeouts.query_wait: expected a duration such as 500ms, 15s, 5m or 1h (or 0), got 30",
            "databases.app.host: required",
            "databases.app.port: expected 1-65535, got 70000",
            "users.app.password: required when auth.type is scram-sha-256",
        ];
        Assert.Equal(expected, result.Errors.Select(e => e.ToString()).ToArray());
    }
}
