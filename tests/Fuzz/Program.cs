// Command line of the fuzzer. Instruments the pooler assembly in the output folder with SharpFuzz (edge coverage
// into a 64 KiB map), then runs the coverage-guided loop (Engine/FuzzLoop) over each target in turn.
//   dotnet run -c Release --project tests/Fuzz -- --minutes 10              every target, 10 minutes each
//   dotnet run -c Release --project tests/Fuzz -- --target sql --seconds 30
//   dotnet run -c Release --project tests/Fuzz -- --replay path/to/input    rerun one input (a finding)
// Options: --save-corpus adds inputs that reached new code to tests/Fuzz/corpus/{target}; --findings DIR (default
// ./fuzz-findings) receives crashing/slow/allocating inputs; --no-instrument fuzzes by mutation alone.
// Exit status: 0 no finding, 1 findings, 2 usage, 3 an execution hung (its input is saved first).
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using SharpFuzz;
using Tuki.Pool.Fuzz.Engine;

namespace Tuki.Pool.Fuzz;

public static class Program
{
    private static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(10);

    public static int Main(string[] args)
    {
        var options = CommandLine.Parse(args);
        if (options is null)
        {
            Console.Error.WriteLine("usage: Tuki.Pool.Fuzz [--target NAME]... [--minutes N | --seconds N] [--seed N] [--save-corpus] [--findings DIR] [--no-instrument] [--replay FILE]");
            return 2;
        }
        // Before any pooler type is touched: the runtime loads Tuki.Pool.Pooler.dll at the first method that
        // uses it, and must load the instrumented one.
        Func<ICoverage> coverage = options.Instrument ? InstrumentPooler() : () => NoCoverage.Instance;
        return Run(options, coverage);
    }

    private static unsafe Func<ICoverage> InstrumentPooler()
    {
        var pooler = Path.Combine(AppContext.BaseDirectory, "Tuki.Pool.Pooler.dll");
        try
        {
            Fuzzer.Instrument(pooler, type => type.StartsWith("Tuki.Pool.Pooler.", StringComparison.Ordinal), Options.Value);
            Console.WriteLine($"instrumented {pooler}");
        }
        catch (InstrumentationException e) when (e.Message.Contains("already instrumented", StringComparison.Ordinal))
        {
            // A previous run of this build did it.
        }
        var map = (byte*)NativeMemory.AllocZeroed(EdgeMapCoverage.MapSize);
        SharpFuzz.Common.Trace.SharedMem = map;
        // One map, a fresh "seen" record per target so each reports its own edges.
        return () => new EdgeMapCoverage(map, () => SharpFuzz.Common.Trace.PrevLocation = 0);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static int Run(CommandLine options, Func<ICoverage> coverage)
    {
        var targets = Targets.SessionTargets.All.Where(t => options.Targets.Count == 0 || options.Targets.Contains(t.Name)).ToList();
        if (targets.Count == 0)
        {
            Console.Error.WriteLine("no such target; targets: " + string.Join(", ", Targets.SessionTargets.All.Select(t => t.Name)));
            return 2;
        }
        if (options.Replay is not null)
            return Replay(targets[0], coverage(), options.Replay);

        var findings = 0;
        foreach (var target in targets)
        {
            var corpusDir = Path.Combine(options.CorpusRoot, target.Name);
            var seeds = Corpus.Load(corpusDir);
            var loop = new FuzzLoop(target, coverage(), options.Seed);
            using var watchdog = StartWatchdog(loop, options.FindingsDir);
            var result = loop.Run(seeds, options.Duration);
            Console.WriteLine($"{target.Name,-13} {result.Executions,12:N0} execs in {result.Elapsed.TotalSeconds,6:0} s " +
                $"({result.Executions / Math.Max(1, result.Elapsed.TotalSeconds),8:N0}/s), corpus {seeds.Count} + {result.NewInputs} new, " +
                $"{result.Edges} edges, {result.Findings.Count} findings");
            foreach (var finding in result.Findings)
            {
                var path = Corpus.SaveFinding(options.FindingsDir, finding);
                Console.WriteLine($"  FINDING {finding.Kind}: {finding.Message.Split('\n')[0]}\n    input: {path}");
            }
            findings += result.Findings.Count;
            if (options.SaveCorpus)
                Console.WriteLine($"  saved {Corpus.Save(corpusDir, loop.NewInputs)} new inputs to {corpusDir}");
        }
        return findings == 0 ? 0 : 1;
    }

    private static int Replay(FuzzTarget target, ICoverage coverage, string file)
    {
        var finding = new FuzzLoop(target, coverage, 0).Execute(File.ReadAllBytes(file));
        Console.WriteLine(finding is null ? $"{target.Name}: no finding" : $"{target.Name}: {finding.Kind}: {finding.Message}");
        return finding is null ? 0 : 1;
    }

    /// <summary>An execution that never returns cannot be reported by the loop: this thread saves its input and
    /// ends the process.</summary>
    private static Timer StartWatchdog(FuzzLoop loop, string findingsDir) => new(_ =>
    {
        var input = loop.Current;
        if (input is null || Stopwatch.GetElapsedTime(loop.CurrentStarted) < HangLimit || !ReferenceEquals(input, loop.Current))
            return;
        var path = Corpus.SaveFinding(findingsDir, new Finding("hang", FindingKind.Slow, $"no return after {HangLimit.TotalSeconds} s", input));
        Console.WriteLine($"FINDING hang: input saved to {path}");
        Environment.Exit(3);
    }, null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
}
