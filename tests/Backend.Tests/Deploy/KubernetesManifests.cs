// Loads deploy/kubernetes/*.yaml (multi-document files allowed) as plain YAML trees and offers typed
// paths into them, so the tests read like the manifests.
using YamlDotNet.RepresentationModel;

namespace Tuki.Pool.Backend.Tests.Deploy;

sealed class KubernetesManifests
{
    public const string Directory = "deploy/kubernetes";

    readonly List<YamlMappingNode> _documents = [];

    public KubernetesManifests()
    {
        foreach (var file in System.IO.Directory.EnumerateFiles(RepositoryFiles.PathOf(Directory), "*.yaml").Order())
        {
            var stream = new YamlStream();
            using (var reader = new StreamReader(file))
                stream.Load(reader);
            foreach (var document in stream.Documents)
            {
                if (document.RootNode is YamlMappingNode map && map.Children.ContainsKey("kind"))
                    _documents.Add(map);
            }
        }
    }

    public IEnumerable<YamlMappingNode> OfKind(string kind) => _documents.Where(d => Scalar(d, "kind") == kind);

    public YamlMappingNode Single(string kind) => Assert.Single(OfKind(kind));

    /// <summary>The node at a dotted path (<c>spec.template.spec</c>); fails the test when missing. A key that
    /// itself contains dots (<c>data.pooler.yaml</c>) is found because the longest matching key wins.</summary>
    public static YamlNode Node(YamlNode node, string path) =>
        TryNode(node, path) ?? throw new Xunit.Sdk.XunitException($"missing '{path}'");

    public static YamlNode? TryNode(YamlNode node, string path)
    {
        var keys = path.Split('.');
        for (var i = 0; i < keys.Length;)
        {
            if (node is not YamlMappingNode map)
                return null;
            var found = false;
            for (var take = keys.Length - i; take >= 1 && !found; take--)
            {
                if (map.Children.TryGetValue(new YamlScalarNode(string.Join('.', keys, i, take)), out var child))
                {
                    (node, i, found) = (child, i + take, true);
                }
            }
            if (!found)
                return null;
        }
        return node;
    }

    public static string Scalar(YamlNode node, string path) => Assert.IsType<YamlScalarNode>(Node(node, path)).Value!;

    public static IEnumerable<YamlMappingNode> Items(YamlNode node, string path) =>
        Assert.IsType<YamlSequenceNode>(Node(node, path)).Children.Cast<YamlMappingNode>();

    public static IReadOnlyDictionary<string, string> Labels(YamlNode node, string path) =>
        Assert.IsType<YamlMappingNode>(Node(node, path)).Children.ToDictionary(p => ((YamlScalarNode)p.Key).Value!, p => ((YamlScalarNode)p.Value).Value!);
}
