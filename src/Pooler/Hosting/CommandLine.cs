// The pooler's command line: --config <path> (default ./pooler.yaml).
namespace Tuki.Pool.Pooler.Hosting;

public sealed record CommandLine(string ConfigPath)
{
    public static CommandLine Parse(string[] args)
    {
        var path = "pooler.yaml";
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] is "--config" or "-c" && i + 1 < args.Length)
                path = args[++i];
            else if (args[i].StartsWith("--config=", StringComparison.Ordinal))
                path = args[i].Substring("--config=".Length);
        }
        return new CommandLine(path);
    }
}
