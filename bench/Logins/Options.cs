// Command line of the login tool (see Program.cs for the two modes).
namespace Tuki.Pool.Bench.Logins;

internal sealed record Options(string Mode, string ConnectionString, int Count, int Parallel, string? UntilFile, int MaxSeconds)
{
    public static Options Parse(string[] args)
    {
        if (args.Length == 0 || args[0] is not ("hold" or "storm"))
            throw new ArgumentException("usage: hold|storm --conn CS --count N [--parallel P] [--until-file F] [--max-seconds S]");
        string? conn = null, until = null;
        int count = 1000, parallel = 100, maxSeconds = 120;
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--conn": conn = value; break;
                case "--count": count = int.Parse(value); break;
                case "--parallel": parallel = int.Parse(value); break;
                case "--until-file": until = value; break;
                case "--max-seconds": maxSeconds = int.Parse(value); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
        }
        return new Options(args[0], conn ?? throw new ArgumentException("--conn is required"), count, parallel, until, maxSeconds);
    }
}
