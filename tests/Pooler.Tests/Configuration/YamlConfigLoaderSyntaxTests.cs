// The document itself: unknown keys, malformed YAML, several documents, reading files, and the content hash.
using System.Security.Cryptography;
using System.Text;
using Tuki.Pool.Pooler.Configuration;

namespace Tuki.Pool.Pooler.Tests.Configuration;

public class YamlConfigLoaderSyntaxTests
{
    [Fact]
    public void Parse_MisspelledPoolKey_ReportsUnknownKey()
    {
        var result = ConfigTestData.Parse(ConfigTestData.MinimalYaml + "\npool:\n  sise: 50");

        var error = Assert.Single(result.Errors);
        Assert.Equal("pool.sise: unknown key", error.ToString());
    }

    [Fact]
    public void Parse_UnknownKeysAtEveryLevel_AreAllReported()
    {
        var result = ConfigTestData.Parse("""
            lisen: { port: 1 }
            databases:
              app:
                hots: h
                host: h
                pool: { timeouts: { query_wiat: 5s } }
            users:
              app: { pasword: x, password: y }
            """);

        ConfigTestData.AssertError(result, "lisen: unknown key");
        ConfigTestData.AssertError(result, "databases.app.hots: unknown key");
        ConfigTestData.AssertError(result, "databases.app.pool.timeouts.query_wiat: unknown key");
        ConfigTestData.AssertError(result, "users.app.pasword: unknown key");
        Assert.Equal(4, result.Errors.Count);
    }

    [Fact]
    public void Parse_MalformedYaml_ReportsOneErrorWithLineAndColumn()
    {
        var result = ConfigTestData.Parse("""
            databases:
              app: { host: h
            pool: 1
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal(ConfigError.DocumentPath, error.Path);
        Assert.Matches(@"^invalid YAML at line \d+, column \d+: \S", error.Problem);
        Assert.DoesNotContain("Idx:", error.Problem);
        Assert.Null(result.Config);
    }

    [Theory]
    [InlineData("pool: [")]
    [InlineData("pool: {")]
    [InlineData("pool: { size: 1")]
    [InlineData("a: \"unclosed")]
    [InlineData("a: b: c")]
    [InlineData("- a\nb: c")]
    [InlineData("a: *missing_anchor")]
    [InlineData("a:\n\tb: c")]
    [InlineData("%YAML 9.9\n---\na: b")]
    public void Parse_MalformedYaml_NeverThrows(string yaml)
    {
        var result = ConfigTestData.Parse(yaml);

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("invalid YAML at line ", error.Problem);
    }

    [Fact]
    public void Parse_BadIndentation_PointsAtTheOffendingLine()
    {
        var result = ConfigTestData.Parse("databases:\n  app:\n    host: h\n   port: 1\n");

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("invalid YAML at line 4, column", error.Problem);
    }

    [Fact]
    public void Parse_DuplicateKey_IsReportedAsInvalidYaml()
    {
        var result = ConfigTestData.Parse("databases:\n  app: { host: h }\n  app: { host: other }\n");

        var error = Assert.Single(result.Errors);
        Assert.StartsWith("invalid YAML at line 3, column", error.Problem);
    }

    [Fact]
    public void Parse_TwoDocuments_IsRefused()
    {
        var result = ConfigTestData.Parse(ConfigTestData.MinimalYaml + "\n---\n" + ConfigTestData.MinimalYaml);

        ConfigTestData.AssertError(result, "(document): expected one YAML document, found 2 (remove the extra '---')");
    }

    [Fact]
    public void Parse_RootIsAList_ReportsExpectedMapping()
    {
        ConfigTestData.AssertError(ConfigTestData.Parse("- a\n- b\n"), "(document): expected a mapping, got a list");
    }

    [Fact]
    public void Parse_EmptyText_OnlyMissesDatabases()
    {
        var result = ConfigTestData.Parse("");

        var error = Assert.Single(result.Errors);
        Assert.Equal("databases: at least one database is required", error.ToString());
    }

    [Fact]
    public void Parse_Text_HashIsSha256HexOfUtf8Text()
    {
        var yaml = ConfigTestData.MinimalYaml + "\n# café\n";

        var result = ConfigTestData.Parse(yaml);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(yaml))), result.Hash);
        Assert.Matches("^[0-9a-f]{64}$", result.Hash);
        Assert.NotEqual(result.Hash, ConfigTestData.Parse(yaml + " ").Hash);
    }

    [Fact]
    public void Parse_InvalidText_StillHasHash()
    {
        var result = ConfigTestData.Parse("pool: [");

        Assert.False(result.Success);
        Assert.Equal(64, result.Hash.Length);
    }

    [Fact]
    public void Load_File_MatchesParseOfSameTextAndHash()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllText(file, ConfigTestData.MinimalYaml);

            var loaded = YamlConfigLoader.Load(file);

            Assert.True(loaded.Success, loaded.ToString());
            Assert.Equal(ConfigTestData.Parse(ConfigTestData.MinimalYaml).Hash, loaded.Hash);
            Assert.Equal("db.internal", loaded.Config.Databases["app"].Host);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Load_MissingFile_ReportsFilePath()
    {
        var path = Path.Combine(Path.GetTempPath(), $"missing-{Guid.NewGuid():N}.yaml");

        var result = YamlConfigLoader.Load(path);

        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.Path);
        Assert.StartsWith("cannot read the file", error.Problem);
        Assert.Equal("", result.Hash);
    }

    [Fact]
    public void Load_InvalidUtf8_ReportsEncoding()
    {
        var file = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(file, [(byte)'a', (byte)':', (byte)' ', 0xC3, 0x28]);

            var result = YamlConfigLoader.Load(file);

            ConfigTestData.AssertError(result, $"{file}: is not valid UTF-8");
        }
        finally
        {
            File.Delete(file);
        }
    }
}
