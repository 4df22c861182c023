// Shared helpers for the Configuration tests: a smallest valid file, parsing with a fake environment, the repo root.
using Tuki.Pool.Pooler.Configuration;

namespace Tuki.Pool.Pooler.Tests.Configuration;

internal static class ConfigTestData
{
    /// <summary>The smallest valid pooler.yaml: one database, everything else defaulted.</summary>
    public const string MinimalYaml = """
        databases:
          app:
            host: db.internal
        """;

    /// <summary>Parses with only the given environment variables visible (the process environment is never read).</summary>
    public static ConfigLoadResult Parse(string yaml, params (string Name, string Value)[] env) =>
        YamlConfigLoader.Parse(yaml, Env(env), baseDirectory: Path.GetTempPath());

    public static Func<string, string?> Env(params (string Name, string Value)[] env)
    {
        var variables = env.ToDictionary(v => v.Name, v => v.Value);
        return name => variables.GetValueOrDefault(name);
    }

    public static PoolerConfig ParseValid(string yaml, params (string Name, string Value)[] env)
    {
        var result = Parse(yaml, env);
        Assert.True(result.Success, result.ToString());
        return result.Config;
    }

    /// <summary>Asserts the file is refused and that one of its errors reads exactly <paramref name="expected"/>.</summary>
    public static void AssertError(ConfigLoadResult result, string expected)
    {
        Assert.False(result.Success);
        Assert.Null(result.Config);
        Assert.Contains(expected, result.Errors.Select(e => e.ToString()));
    }

    /// <summary>The folder holding Tuki.Pool.sln, found by walking up from the test binaries.</summary>
    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Tuki.Pool.sln")))
                return dir.FullName;
        }
        throw new InvalidOperationException($"Tuki.Pool.sln not found above {AppContext.BaseDirectory}");
    }
}
