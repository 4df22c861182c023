// Just enough of Dockerfile.pooler's syntax to replay its build stage and read its runtime stage:
// instructions with their line continuations joined, grouped by stage.
namespace Tuki.Pool.Backend.Tests.Deploy;

sealed record DockerInstruction(string Keyword, string Arguments);

sealed class Dockerfile
{
    public Dockerfile(string path)
    {
        var logical = new List<string>();
        var current = "";
        foreach (var raw in File.ReadLines(path))
        {
            var line = raw.Trim();
            if (current.Length == 0 && (line.Length == 0 || line.StartsWith('#')))
                continue;
            if (line.EndsWith('\\'))
            {
                current += line[..^1] + " ";
                continue;
            }
            logical.Add(current + line);
            current = "";
        }
        foreach (var line in logical)
        {
            var space = line.IndexOf(' ');
            var instruction = new DockerInstruction(line[..space].ToUpperInvariant(), line[(space + 1)..].Trim());
            if (instruction.Keyword == "FROM")
                Stages.Add((StageName(instruction.Arguments), []));
            else
                Stages[^1].Instructions.Add(instruction);
        }
    }

    public List<(string Name, List<DockerInstruction> Instructions)> Stages { get; } = [];

    public List<DockerInstruction> Stage(string name) => Stages.Single(s => s.Name == name).Instructions;

    /// <summary>The runtime (last) stage.</summary>
    public List<DockerInstruction> Final => Stages[^1].Instructions;

    static string StageName(string from)
    {
        var words = from.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var alias = Array.FindIndex(words, w => w.Equals("AS", StringComparison.OrdinalIgnoreCase));
        return alias >= 0 ? words[alias + 1] : words[^1];
    }
}
