// Secrets: ${NAME} expansion from the environment and users.X.password_file; errors never show a secret.
using Tuki.Pool.Pooler.Configuration;

namespace Tuki.Pool.Pooler.Tests.Configuration;

public sealed class YamlConfigLoaderSecretsTests : IDisposable
{
    private const string Secret = "s3cr3t-Value";
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("tuki-config-tests-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public void Parse_EnvReference_IsReplacedByVariable()
    {
        var config = ConfigTestData.ParseValid(ConfigTestData.MinimalYaml + "\nusers:\n  app:\n    password: ${APP_DB_PASSWORD}",
            ("APP_DB_PASSWORD", Secret));

        Assert.Equal(Secret, config.Users["app"].Password);
    }

    [Fact]
    public void Parse_EnvReferencesInsideText_AreAllReplacedInAnyValue()
    {
        var config = ConfigTestData.ParseValid("""
            databases:
              app:
                host: ${DB_HOST}.internal
                port: ${DB_PORT}
                dbname: ${PREFIX}_${SUFFIX}
            """,
            ("DB_HOST", "primary"), ("DB_PORT", "6543"), ("PREFIX", "app"), ("SUFFIX", "prod"));

        var database = config.Databases["app"];
        Assert.Equal("primary.internal", database.Host);
        Assert.Equal(6543, database.Port);
        Assert.Equal("app_prod", database.DbName);
    }

    [Fact]
    public void Parse_EnvValueContainingReference_IsNotExpandedAgain()
    {
        var config = ConfigTestData.ParseValid(ConfigTestData.MinimalYaml + "\nusers:\n  app:\n    password: ${P}", ("P", "a${B}c"));

        Assert.Equal("a${B}c", config.Users["app"].Password);
    }

    [Fact]
    public void Parse_EnvVariableNotSet_ReportsVariableName()
    {
        var result = ConfigTestData.Parse(ConfigTestData.MinimalYaml + "\nusers:\n  app:\n    password: ${APP_DB_PASSWORD}");

        var error = Assert.Single(result.Errors);
        Assert.Equal("users.app.password: environment variable APP_DB_PASSWORD is not set", error.ToString());
    }

    [Fact]
    public void Parse_SeveralVariablesNotSet_ReportsEachOne()
    {
        var result = ConfigTestData.Parse("databases: { app: { host: \"${A}-${B}\" } }");

        ConfigTestData.AssertError(result, "databases.app.host: environment variable A is not set");
        ConfigTestData.AssertError(result, "databases.app.host: environment variable B is not set");
    }

    [Theory]
    [InlineData("${APP")]
    [InlineData("${}")]
    [InlineData("${1X}")]
    [InlineData("${A-B}")]
    public void Parse_MalformedEnvReference_ReportsExpectedForm(string value)
    {
        var result = ConfigTestData.Parse(ConfigTestData.MinimalYaml + $"\nusers:\n  app:\n    password: \"{value}\"");

        ConfigTestData.AssertError(result,
            "users.app.password: malformed environment reference: expected ${NAME}, NAME made of letters, digits and _");
    }

    [Fact]
    public void Parse_InvalidValueFromEnvironment_ErrorShowsReferenceNotValue()
    {
        var result = ConfigTestData.Parse("databases: { app: { host: h, port: \"${SECRET}\" } }", ("SECRET", Secret));

        var error = Assert.Single(result.Errors);
        Assert.Equal("databases.app.port: expected an integer 1-65535, got ${SECRET}", error.ToString());
        Assert.DoesNotContain(Secret, error.ToString());
    }

    [Fact]
    public void Parse_PasswordFile_ReadsFileRelativeToBaseDirectoryWithoutTrailingNewline()
    {
        Directory.CreateDirectory(Path.Combine(_folder.FullName, "secrets"));
        File.WriteAllText(Path.Combine(_folder.FullName, "secrets", "app.txt"), Secret + "\n");

        var result = YamlConfigLoader.Parse(ConfigTestData.MinimalYaml + "\nusers:\n  app:\n    password_file: secrets/app.txt",
            ConfigTestData.Env(), _folder.FullName);

        Assert.True(result.Success, result.ToString());
        Assert.Equal(Secret, result.Config.Users["app"].Password);
    }

    [Fact]
    public void Load_PasswordFile_IsRelativeToConfigFileFolder()
    {
        File.WriteAllText(Path.Combine(_folder.FullName, "app.txt"), Secret + "\r\n");
        var configPath = Path.Combine(_folder.FullName, "pooler.yaml");
        File.WriteAllText(configPath, ConfigTestData.MinimalYaml + "\nusers:\n  app: { password_file: app.txt }\n");

        var result = YamlConfigLoader.Load(configPath);

        Assert.True(result.Success, result.ToString());
        Assert.Equal(Secret, result.Config.Users["app"].Password);
    }

    [Fact]
    public void Parse_PasswordFileMissing_ReportsFullPath()
    {
        var result = YamlConfigLoader.Parse(ConfigTestData.MinimalYaml + "\nusers:\n  app: { password_file: missing.txt }",
            ConfigTestData.Env(), _folder.FullName);

        var error = Assert.Single(result.Errors);
        Assert.Equal($"users.app.password_file: file {Path.Combine(_folder.FullName, "missing.txt")} does not exist", error.ToString());
    }

    [Fact]
    public void Parse_PasswordFileEmpty_ReportsEmpty()
    {
        var file = Path.Combine(_folder.FullName, "empty.txt");
        File.WriteAllText(file, "\n");

        var result = YamlConfigLoader.Parse(ConfigTestData.MinimalYaml + $"\nusers:\n  app: {{ password_file: {file} }}",
            ConfigTestData.Env(), _folder.FullName);

        ConfigTestData.AssertError(result, $"users.app.password_file: file {file} is empty");
    }

    [Fact]
    public void Parse_PasswordAndPasswordFileBothSet_ReportsConflictWithoutSecret()
    {
        var file = Path.Combine(_folder.FullName, "app.txt");
        File.WriteAllText(file, Secret);

        var result = YamlConfigLoader.Parse(
            ConfigTestData.MinimalYaml + $"\nusers:\n  app: {{ password: \"${{P}}\", password_file: {file} }}",
            ConfigTestData.Env(("P", Secret)), _folder.FullName);

        var error = Assert.Single(result.Errors);
        Assert.Equal("users.app.password_file: cannot be used together with password; keep only one of them", error.ToString());
        Assert.DoesNotContain(Secret, error.ToString());
    }

    [Fact]
    public void UserConfig_ToString_DoesNotShowPassword()
    {
        var config = ConfigTestData.ParseValid(ConfigTestData.MinimalYaml + "\nusers:\n  app: { password: \"${P}\" }", ("P", Secret));

        Assert.DoesNotContain(Secret, config.Users["app"].ToString());
        Assert.DoesNotContain(Secret, config.ToString());
    }
}
