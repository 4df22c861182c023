// ConfigKeys.All and the loader agree: every listed key is actually read (a wrong type there is reported at its
// path), and the list has no duplicates. Otherwise a key could be accepted and silently ignored.
using System.Text;
using Tuki.Pool.Pooler.Configuration;

namespace Tuki.Pool.Pooler.Tests.Configuration;

public class AcceptedKeysTests
{
    public static TheoryData<string> Keys() => [.. YamlConfigLoader.AcceptedKeys];

    [Theory]
    [MemberData(nameof(Keys))]
    public void Parse_AcceptedKeyWithWrongNodeType_ReportsErrorAtThatPath(string pattern)
    {
        var path = pattern.Replace("*", "app");
        // A list where a value or mapping is expected; a mapping where a list key (admin.users, *.allow) is expected.
        var wrongValue = pattern == "admin.users" || pattern.EndsWith(".allow", StringComparison.Ordinal) ? "{ a: 1 }" : "[1]";

        var result = ConfigTestData.Parse(Nest(path.Split('.'), wrongValue));

        Assert.Contains(result.Errors, e => e.Path == path && e.Problem.StartsWith("expected a", StringComparison.Ordinal));
    }

    [Fact]
    public void AcceptedKeys_HasNoDuplicates()
    {
        Assert.Equal(YamlConfigLoader.AcceptedKeys.Count, YamlConfigLoader.AcceptedKeys.Distinct().Count());
    }

    // ["a", "b", "c"], "[1]" -> "a:\n  b:\n    c: [1]\n"
    private static string Nest(string[] segments, string value)
    {
        var yaml = new StringBuilder();
        for (var i = 0; i < segments.Length; i++)
        {
            yaml.Append(' ', 2 * i).Append(segments[i]).Append(':');
            yaml.Append(i == segments.Length - 1 ? " " + value : "").Append('\n');
        }
        return yaml.ToString();
    }
}
