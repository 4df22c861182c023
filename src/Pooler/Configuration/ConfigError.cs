// One problem found in pooler.yaml: the YAML path of the key and what is wrong with it, never a secret's value.
namespace Tuki.Pool.Pooler.Configuration;

/// <summary>A problem in <c>pooler.yaml</c>, e.g. <c>databases.app.port: expected 1-65535, got 70000</c>.</summary>
/// <param name="Path">Dotted YAML path (<c>pool.timeouts.query_wait</c>, <c>admin.users[0]</c>), the file path when
/// the file cannot be read, or <see cref="DocumentPath"/> for problems of the document as a whole.</param>
/// <param name="Problem">What is wrong and what is expected.</param>
public sealed record ConfigError(string Path, string Problem)
{
    /// <summary>Path used for problems that belong to no key (malformed YAML, a root that is not a mapping).</summary>
    public const string DocumentPath = "(document)";

    public override string ToString() => $"{Path}: {Problem}";
}
