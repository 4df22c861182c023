// State shared while one pooler.yaml is read: the errors found so far, where environment variables come from,
// and the folder that relative file paths start from.
namespace Tuki.Pool.Pooler.Configuration;

internal sealed class ConfigReadContext(Func<string, string?> getEnv, string baseDirectory)
{
    private readonly List<ConfigError> _errors = [];

    public IReadOnlyList<ConfigError> Errors => _errors;

    /// <summary>Looks up an environment variable (injected so tests don't touch the process environment).</summary>
    public Func<string, string?> GetEnv { get; } = getEnv;

    /// <summary>Absolute folder of the config file: <c>password_file</c> paths are relative to it.</summary>
    public string BaseDirectory { get; } = baseDirectory;

    public void Error(string path, string problem) =>
        _errors.Add(new ConfigError(path.Length == 0 ? ConfigError.DocumentPath : path, problem));
}
