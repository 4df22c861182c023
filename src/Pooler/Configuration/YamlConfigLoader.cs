// Entry point for pooler.yaml: text -> YAML tree (YamlDotNet representation model) -> records, with every problem
// collected rather than the first thrown. The caller decides: a first load that fails stops the process, a
// failed reload keeps the old snapshot.
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Tuki.Pool.Pooler.Configuration;

public static partial class YamlConfigLoader
{
    /// <summary>Every key the loader accepts, as dotted patterns where <c>*</c> stands for a database or user name
    /// (<c>databases.*.pool.timeouts.query_wait</c>). Any other key is an error.</summary>
    public static IReadOnlyList<string> AcceptedKeys => ConfigKeys.All;

    /// <summary>Reads and validates the file; <c>${NAME}</c> comes from the process environment and
    /// <c>password_file</c> paths are relative to the file's folder.</summary>
    public static ConfigLoadResult Load(string path) => Load(path, Environment.GetEnvironmentVariable);

    internal static ConfigLoadResult Load(string path, Func<string, string?> getEnv)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var fullPath = Path.GetFullPath(path);
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ConfigLoadResult(null, [new ConfigError(fullPath, $"cannot read the file: {e.Message}")], hash: "");
        }

        // Hash the bytes on disk, so the value matches `sha256sum pooler.yaml`.
        var hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
        string text;
        try
        {
            var preamble = Encoding.UTF8.Preamble;
            ReadOnlySpan<byte> body = bytes.AsSpan().StartsWith(preamble) ? bytes.AsSpan(preamble.Length) : bytes;
            text = StrictUtf8.GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return new ConfigLoadResult(null, [new ConfigError(fullPath, "is not valid UTF-8")], hash);
        }
        return ParseText(text, hash, getEnv, Path.GetDirectoryName(fullPath)!);
    }

    /// <summary>Validates YAML text. <paramref name="getEnv"/> resolves <c>${NAME}</c> (default: the process
    /// environment); <paramref name="baseDirectory"/> anchors relative <c>password_file</c> paths (default: the
    /// current directory).</summary>
    public static ConfigLoadResult Parse(string yaml, Func<string, string?>? getEnv = null, string? baseDirectory = null)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(yaml)));
        return ParseText(yaml, hash, getEnv ?? Environment.GetEnvironmentVariable,
            Path.GetFullPath(baseDirectory ?? Directory.GetCurrentDirectory()));
    }

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private static ConfigLoadResult ParseText(string text, string hash, Func<string, string?> getEnv, string baseDirectory)
    {
        var stream = new YamlStream();
        // Our own scanner, so its position is known even when YamlDotNet fails without a YamlException.
        var scanner = new Scanner(new StringReader(text));
        try
        {
            stream.Load(new Parser(scanner));
        }
        catch (YamlException e)
        {
            // Malformed YAML: nothing below is trustworthy, so this is the only error.
            return Malformed(e.Start, Reason(e), hash);
        }
        catch (InvalidOperationException)
        {
            // YamlDotNet 16.3 throws this from its scanner at the end of an unclosed { or [ (not a YamlException).
            return Malformed(scanner.CurrentPosition, "unexpected end of a { } or [ ] block; check brackets and quotes", hash);
        }
        if (stream.Documents.Count > 1)
        {
            var problem = $"expected one YAML document, found {stream.Documents.Count} (remove the extra '---')";
            return new ConfigLoadResult(null, [new ConfigError(ConfigError.DocumentPath, problem)], hash);
        }

        var context = new ConfigReadContext(getEnv, baseDirectory);
        var config = ConfigMapper.Map(stream.Documents.Count == 0 ? null : stream.Documents[0].RootNode, context);

        var errors = new List<ConfigError>(context.Errors);
        foreach (var finding in ConfigValidator.Validate(config))
        {
            // The record holds a default where a key failed to read; a cross-key rule over it would only confuse.
            if (!finding.Inputs.Any(input => context.Errors.Any(e => e.Path == input || e.Path.StartsWith(input + ".", StringComparison.Ordinal))))
                errors.Add(finding.Error);
        }
        return new ConfigLoadResult(errors.Count == 0 ? config : null, errors, hash);
    }

    private static ConfigLoadResult Malformed(Mark at, string reason, string hash) => new(
        null, [new ConfigError(ConfigError.DocumentPath, $"invalid YAML at line {at.Line}, column {at.Column}: {reason}")], hash);

    // YamlDotNet may prefix its message with "(Line: 1, Col: 2, Idx: 3) - (Line: ...): "; we give line and column ourselves.
    private static string Reason(YamlException e) => MarkPrefix().Replace(e.Message, "");

    [GeneratedRegex(@"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ")]
    private static partial Regex MarkPrefix();
}
