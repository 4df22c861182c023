// The fuzzing loop: pick a corpus entry, mutate it, run the target, keep the input when it reached new code.
// Every execution is also checked for the three findings the pooler must never show on client input: an exception
// that is not the documented answer (crash), a slow execution (hang), and an allocation out of proportion to the
// input (unbounded allocation).
using System.Diagnostics;

namespace Tuki.Pool.Fuzz.Engine;

public enum FindingKind { Crash, Slow, Allocation }

public sealed record Finding(string Target, FindingKind Kind, string Message, byte[] Input);

public sealed record FuzzResult(string Target, long Executions, int CorpusSize, int NewInputs, int Edges, IReadOnlyList<Finding> Findings, TimeSpan Elapsed);

public sealed class FuzzLoop(FuzzTarget target, ICoverage coverage, int seed)
{
    /// <summary>One execution over this is a finding: the targets are parsers of at most a few KiB.</summary>
    public static readonly TimeSpan SlowLimit = TimeSpan.FromSeconds(1);

    /// <summary>Allocation allowed per execution: a fixed allowance plus a multiple of the input (strings are
    /// UTF-16, lists grow by doubling). More means memory not bounded by what the client sent.</summary>
    public static long AllocationLimit(int inputLength) => 1024 * 1024 + 64L * inputLength;

    private readonly Random _random = new(seed);
    private readonly List<byte[]> _corpus = [];
    private readonly Dictionary<string, Finding> _findings = [];

    /// <summary>The input running now and when it started (Stopwatch ticks), for a watchdog on another thread.</summary>
    public byte[]? Current { get; private set; }
    public long CurrentStarted { get; private set; }

    /// <summary>Inputs that reached new code during this run (to be saved next to the corpus when asked).</summary>
    public List<byte[]> NewInputs { get; } = [];

    public FuzzResult Run(IEnumerable<byte[]> seeds, TimeSpan duration, long maxExecutions = long.MaxValue)
    {
        var clock = Stopwatch.StartNew();
        long executions = 0;
        foreach (var input in seeds)
        {
            Execute(input);
            executions++;
            coverage.HasNewCoverage();
            _corpus.Add(input);
        }
        if (_corpus.Count == 0)
            _corpus.Add([]);

        var mutator = new Mutator(_random);
        while (clock.Elapsed < duration && executions < maxExecutions)
        {
            var parent = _corpus[_random.Next(_corpus.Count)];
            var input = mutator.Mutate(parent, _corpus, target.Dictionary, target.MaxInputLength);
            Execute(input);
            executions++;
            if (coverage.HasNewCoverage())
            {
                _corpus.Add(input);
                NewInputs.Add(input);
            }
        }
        Current = null;
        return new FuzzResult(target.Name, executions, _corpus.Count, NewInputs.Count, coverage.Edges, [.. _findings.Values], clock.Elapsed);
    }

    /// <summary>Runs one input and records what went wrong, if anything. Also used to replay a corpus or a finding.</summary>
    public Finding? Execute(byte[] input)
    {
        coverage.Reset();
        Current = input;
        CurrentStarted = Stopwatch.GetTimestamp();
        var allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
        Finding? finding = null;
        try
        {
            target.Run(input);
        }
        catch (Exception e) when (!target.IsExpected(e))
        {
            finding = new Finding(target.Name, FindingKind.Crash, $"{e.GetType().Name}: {e.Message}\n{e.StackTrace}", input);
        }
        catch (Exception)
        {
            // The documented answer to bad input.
        }
        var elapsed = Stopwatch.GetElapsedTime(CurrentStarted);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - allocatedBefore;
        // A slow run is timed once more: on a shared machine a GC pause or preemption can cost a second, a real
        // hang costs it every time.
        if (finding is null && elapsed > SlowLimit && IsSlowAgain(input))
            finding = new Finding(target.Name, FindingKind.Slow, $"one execution took {elapsed.TotalMilliseconds:0} ms", input);
        if (finding is null && allocated > AllocationLimit(input.Length))
            finding = new Finding(target.Name, FindingKind.Allocation, $"{allocated:N0} bytes allocated for a {input.Length}-byte input", input);
        if (finding is not null)
            Record(finding);
        return finding;
    }

    private bool IsSlowAgain(byte[] input)
    {
        var started = Stopwatch.GetTimestamp();
        try { target.Run(input); } catch (Exception) { /* judged by the first run */ }
        return Stopwatch.GetElapsedTime(started) > SlowLimit;
    }

    private void Record(Finding finding)
    {
        // One finding per kind and first stack line (or message): the same bug found again adds nothing.
        var lines = finding.Message.Split('\n');
        var key = finding.Kind + ":" + (finding.Kind == FindingKind.Crash && lines.Length > 1 ? lines[0].Split(':')[0] + lines[1] : "");
        if (!_findings.TryGetValue(key, out var known) || finding.Input.Length < known.Input.Length)
            _findings[key] = finding;
    }
}
