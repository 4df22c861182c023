// One thing to fuzz: a function over bytes, the exceptions it is documented to throw on bad input, and the tokens
// worth splicing into inputs (a libFuzzer-style dictionary).
namespace Tuki.Pool.Fuzz.Engine;

/// <param name="Name">Short name; also the corpus folder (tests/Fuzz/corpus/{Name}).</param>
/// <param name="Run">Feeds one input to the code under test; throws <see cref="FuzzPropertyException"/> when a
/// property of the output does not hold.</param>
/// <param name="IsExpected">True for exceptions that are the documented answer to bad input
/// (ProtocolViolationException, PgErrorException, ...); anything else is a finding.</param>
/// <param name="MaxInputLength">Mutations never grow an input past this.</param>
/// <param name="Dictionary">Tokens the mutator inserts or overwrites with.</param>
public sealed record FuzzTarget(
    string Name,
    Action<byte[]> Run,
    Func<Exception, bool> IsExpected,
    int MaxInputLength,
    IReadOnlyList<byte[]> Dictionary)
{
    public override string ToString() => Name;
}

/// <summary>A property of a target's output that did not hold: always a finding.</summary>
public sealed class FuzzPropertyException(string message) : Exception(message)
{
    public static void Check(bool condition, string property)
    {
        if (!condition)
            throw new FuzzPropertyException(property);
    }
}
