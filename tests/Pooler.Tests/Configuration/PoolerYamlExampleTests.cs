// The repo's pooler.yaml: it loads, and it documents every key the loader accepts (PgBouncer's optscan.sh idea),
// commented-out keys included, each with a comment.
using System.Text.RegularExpressions;
using Tuki.Pool.Pooler.Configuration;
using YamlDotNet.RepresentationModel;

namespace Tuki.Pool.Pooler.Tests.Configuration;

public partial class PoolerYamlExampleTests
{
    private static string ExamplePath => Path.Combine(ConfigTestData.RepoRoot(), "pooler.yaml");

    [Fact]
    public void Load_RepoExampleWithPasswordVariable_Succeeds()
    {
        var result = YamlConfigLoader.Load(ExamplePath, ConfigTestData.Env(("APP_DB_PASSWORD", "example-password")));

        Assert.True(result.Success, result.ToString());
        var config = result.Config;
        Assert.Equal(new ListenConfig("127.0.0.1", 6432), config.Listen);
        Assert.Equal(new MetricsConfig("127.0.0.1", 9127), config.Metrics);
        Assert.Equal(["pooler_admin"], config.Admin.Users);
        var app = Assert.Single(config.Databases).Value;
        Assert.Equal(("127.0.0.1", 5432, "app", 100, 20), (app.Host, app.Port, app.DbName, app.MaxConnections, app.Pool.Size));
        Assert.Equal("example-password", Assert.Single(config.Users).Value.Password);
    }

    [Fact]
    public void Load_RepoExampleWithoutPasswordVariable_NamesTheVariable()
    {
        var result = YamlConfigLoader.Load(ExamplePath, ConfigTestData.Env());

        var error = Assert.Single(result.Errors);
        Assert.Equal("users.app.password: environment variable APP_DB_PASSWORD is not set", error.ToString());
    }

    [Fact]
    public void RepoExample_DocumentsEveryAcceptedKey()
    {
        var root = (YamlMappingNode)LoadUncommented().Documents[0].RootNode;

        var missing = YamlConfigLoader.AcceptedKeys.Where(key => !Exists(root, key.Split('.'))).ToList();

        Assert.True(missing.Count == 0, "pooler.yaml does not show (even commented out): " + string.Join(", ", missing));
    }

    [Fact]
    public void RepoExample_EveryKeyLineHasAComment()
    {
        var undocumented = Uncomment(File.ReadAllLines(ExamplePath))
            .Where(line => KeyLine().IsMatch(line) && !line.Contains(" # ", StringComparison.Ordinal))
            .ToList();

        Assert.True(undocumented.Count == 0, "keys without a comment: " + string.Join(" | ", undocumented));
    }

    [Fact]
    public void RepoExample_UncommentedKeysOnlyUseAcceptedKeys()
    {
        // The other direction of the optscan check: a commented-out example line with a typo would mislead readers.
        var root = (YamlMappingNode)LoadUncommented().Documents[0].RootNode;
        var written = new List<string>();
        CollectPatterns(root, "", written);

        Assert.Empty(written.Except(YamlConfigLoader.AcceptedKeys));
    }

    private static YamlStream LoadUncommented()
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(string.Join('\n', Uncomment(File.ReadAllLines(ExamplePath)))));
        return stream;
    }

    // "      # min_size: 0   # ..." -> "      min_size: 0   # ...": a commented-out key becomes a key at the same depth.
    // Prose comments never start with "snake_case:", so they stay comments.
    private static IEnumerable<string> Uncomment(IEnumerable<string> lines) =>
        lines.Select(line => CommentedKey().Replace(line, "$1$2"));

    private static bool Exists(YamlMappingNode mapping, string[] path)
    {
        // "*" is a user-chosen name: any entry of this mapping will do.
        var children = path[0] == "*"
            ? mapping.Children.Values
            : mapping.Children.Where(c => c.Key is YamlScalarNode { Value: var k } && k == path[0]).Select(c => c.Value);
        foreach (var child in children)
        {
            if (path.Length == 1 || child is YamlMappingNode inner && Exists(inner, path[1..]))
                return true;
        }
        return false;
    }

    private static void CollectPatterns(YamlMappingNode mapping, string pattern, List<string> into)
    {
        // databases and users hold names, written as "*" in AcceptedKeys.
        var holdsNames = pattern is "databases" or "users";
        foreach (var (key, value) in mapping.Children)
        {
            var child = (pattern.Length == 0 ? "" : pattern + ".") + (holdsNames ? "*" : ((YamlScalarNode)key).Value);
            into.Add(child);
            if (value is YamlMappingNode inner)
                CollectPatterns(inner, child, into);
        }
    }

    [GeneratedRegex(@"^(\s*)# (\s*[a-z_]+:(?:\s|$))")]
    private static partial Regex CommentedKey();

    [GeneratedRegex(@"^\s*[a-z_]+:(?:\s|$)")]
    private static partial Regex KeyLine();
}
