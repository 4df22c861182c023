// Where the loop learns that an input reached new code. The command-line fuzzer reads SharpFuzz's edge map of the
// instrumented pooler; the CI test (no instrumentation) uses NoCoverage and fuzzes by mutation alone.
namespace Tuki.Pool.Fuzz.Engine;

public interface ICoverage
{
    /// <summary>Clears the map before one execution.</summary>
    void Reset();

    /// <summary>After one execution: true when it hit an edge (or an edge count bucket) never seen before.</summary>
    bool HasNewCoverage();

    /// <summary>Distinct edges seen so far (0 without instrumentation).</summary>
    int Edges { get; }
}

public sealed class NoCoverage : ICoverage
{
    public static readonly NoCoverage Instance = new();
    public void Reset() { }
    public bool HasNewCoverage() => false;
    public int Edges => 0;
}
