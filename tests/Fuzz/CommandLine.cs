// Options of the fuzzer's command line (see Program.cs for the list).
using Tuki.Pool.Fuzz.Engine;

namespace Tuki.Pool.Fuzz;

public sealed record CommandLine(
    HashSet<string> Targets, TimeSpan Duration, int Seed, bool SaveCorpus, string FindingsDir, bool Instrument, string? Replay, string CorpusRoot)
{
    public static CommandLine? Parse(string[] args)
    {
        var options = new CommandLine([], TimeSpan.FromSeconds(10), Environment.TickCount, false, "fuzz-findings", true, null, "");
        for (var i = 0; i < args.Length; i++)
        {
            string Next() => i + 1 < args.Length ? args[++i] : throw new FormatException($"{args[i]} needs a value");
            try
            {
                options = args[i] switch
                {
                    "--target" => options with { Targets = [.. options.Targets, Next()] },
                    "--minutes" => options with { Duration = TimeSpan.FromMinutes(double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture)) },
                    "--seconds" => options with { Duration = TimeSpan.FromSeconds(double.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture)) },
                    "--seed" => options with { Seed = int.Parse(Next(), System.Globalization.CultureInfo.InvariantCulture) },
                    "--save-corpus" => options with { SaveCorpus = true },
                    "--findings" => options with { FindingsDir = Next() },
                    "--no-instrument" => options with { Instrument = false },
                    "--replay" => options with { Replay = Next() },
                    "--corpus" => options with { CorpusRoot = Next() },
                    _ => throw new FormatException($"unknown option {args[i]}"),
                };
            }
            catch (FormatException e)
            {
                Console.Error.WriteLine(e.Message);
                return null;
            }
        }
        // Found only when not given: a copied build (run elsewhere) names its corpus with --corpus.
        return options.CorpusRoot.Length > 0 ? options : options with { CorpusRoot = Corpus.FindRoot() };
    }
}
