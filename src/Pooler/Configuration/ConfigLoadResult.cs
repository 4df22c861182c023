// What loading pooler.yaml produced: a config, or every error found; plus the file's hash for metrics and reload checks.
using System.Diagnostics.CodeAnalysis;

namespace Tuki.Pool.Pooler.Configuration;

/// <summary>The outcome of <see cref="YamlConfigLoader"/>: <see cref="Config"/> is set only when there are no errors,
/// so a half-valid configuration can never be applied.</summary>
public sealed class ConfigLoadResult
{
    internal ConfigLoadResult(PoolerConfig? config, IReadOnlyList<ConfigError> errors, string hash)
    {
        Config = errors.Count == 0 ? config : null;
        Errors = errors;
        Hash = hash;
    }

    public PoolerConfig? Config { get; }

    /// <summary>Every problem found, in the order found; empty on success.</summary>
    public IReadOnlyList<ConfigError> Errors { get; }

    [MemberNotNullWhen(true, nameof(Config))]
    public bool Success => Config is not null;

    /// <summary>Lowercase hex SHA-256 of the file (for <see cref="YamlConfigLoader.Load"/>, of its bytes, so it matches
    /// <c>sha256sum pooler.yaml</c>). It does not cover environment variables or <c>password_file</c> contents.
    /// Empty when the file could not be read.</summary>
    public string Hash { get; }

    public override string ToString() =>
        Success ? $"pooler.yaml OK (sha256 {Hash})" : string.Join(Environment.NewLine, Errors);
}
