// Corpus and findings on disk: one file per input, named by its SHA-1 (libFuzzer's habit), so saving twice is harmless.
using System.Security.Cryptography;

namespace Tuki.Pool.Fuzz.Engine;

public static class Corpus
{
    /// <summary>tests/Fuzz/corpus, found by walking up from the output folder (the corpus is not copied there).</summary>
    public static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "tests", "Fuzz", "corpus");
            if (Directory.Exists(candidate))
                return candidate;
        }
        throw new DirectoryNotFoundException($"tests/Fuzz/corpus not found above {AppContext.BaseDirectory}");
    }

    public static List<byte[]> Load(string directory) =>
        Directory.Exists(directory)
            ? [.. Directory.EnumerateFiles(directory).Order(StringComparer.Ordinal).Select(File.ReadAllBytes)]
            : [];

    public static int Save(string directory, IEnumerable<byte[]> inputs)
    {
        Directory.CreateDirectory(directory);
        var saved = 0;
        foreach (var input in inputs)
        {
            var path = Path.Combine(directory, Name(input));
            if (File.Exists(path))
                continue;
            File.WriteAllBytes(path, input);
            saved++;
        }
        return saved;
    }

    public static string SaveFinding(string directory, Finding finding)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, $"{finding.Target}-{finding.Kind.ToString().ToLowerInvariant()}-{Name(finding.Input)}");
        File.WriteAllBytes(path, finding.Input);
        File.WriteAllText(path + ".txt", finding.Message);
        return path;
    }

    private static string Name(byte[] input) => Convert.ToHexStringLower(SHA1.HashData(input));
}
