// The bounded CI run of the fuzz targets (tests/Fuzz): every corpus entry replayed, then a few seconds of mutation
// from it with a fixed seed. No instrumentation here (that would touch the pooler assembly every other test uses),
// so this finds regressions near the corpus; the coverage-guided long run is `dotnet run --project tests/Fuzz`.
using Tuki.Pool.Fuzz.Engine;
using Tuki.Pool.Pooler.Auth;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Fuzz.Targets;
using Xunit.Abstractions;

namespace Tuki.Pool.Pooler.Tests.Fuzz;

public sealed class FuzzTargetTests(ITestOutputHelper output)
{
    /// <summary>Seconds of mutation per target; TUKI_FUZZ_SECONDS raises it for a longer local run.</summary>
    private static TimeSpan Duration =>
        TimeSpan.FromSeconds(double.TryParse(Environment.GetEnvironmentVariable("TUKI_FUZZ_SECONDS"), out var s) ? s : 2);

    public static TheoryData<string> Targets => [.. SessionTargets.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_CorpusAndMutations_NoFinding(string name)
    {
        var target = SessionTargets.All.Single(t => t.Name == name);
        var seeds = Corpus.Load(Path.Combine(Corpus.FindRoot(), name));
        Assert.NotEmpty(seeds);

        var loop = new FuzzLoop(target, NoCoverage.Instance, seed: 20240601);
        foreach (var seed in seeds)
            Assert.Null(loop.Execute(seed));
        var result = loop.Run(seeds, Duration);

        output.WriteLine($"{name}: {result.Executions:N0} executions in {result.Elapsed.TotalSeconds:0.0} s, corpus {seeds.Count}");
        Assert.True(result.Executions > seeds.Count, "the loop ran no mutations");
        Assert.True(result.Findings.Count == 0, string.Join("\n\n", result.Findings.Select(f =>
            $"{f.Kind}: {f.Message}\ninput (base64): {Convert.ToBase64String(f.Input)}")));
    }

    [Fact]
    public void DataRow_CountBeyondBody_IsProtocolViolation()
    {
        // Found by the backend target: a DataRow whose column count or length overruns its body threw
        // ArgumentOutOfRangeException/OverflowException instead of the protocol error.
        Assert.Throws<ProtocolViolationException>(() => MessageParser.DataRow([0x7F, 0xFF, 0, 0, 0, 1]));
        Assert.Throws<ProtocolViolationException>(() => MessageParser.DataRow([0xFF, 0xFF]));
        Assert.Throws<ProtocolViolationException>(() => MessageParser.DataRow([0, 1, 0, 0, 0, 9, (byte)'a']));
        Assert.Equal(new string?[] { "ab", null }, MessageParser.DataRow([0, 2, 0, 0, 0, 2, (byte)'a', (byte)'b', 0xFF, 0xFF, 0xFF, 0xFF]));
    }

    [Fact]
    public void ScramClient_SaltOrSignatureNotBase64_IsScramException()
    {
        // Found by the scram-client target: a server-first salt or server-final signature that is not base64 threw
        // FormatException past the login's ScramException handler.
        var client = new ScramClient("pw", clientNonce: "abc");
        client.ClientFirst();
        Assert.Throws<ScramException>(() => client.ClientFinal("r=abcdef,s=!!!,i=16"));
        var other = new ScramClient("pw", clientNonce: "abc");
        other.ClientFirst();
        other.ClientFinal("r=abcdef,s=MDEyMzQ1Njc4OWFiY2RlZg==,i=16");
        Assert.Throws<ScramException>(() => other.VerifyServerFinal("v=!!!"));
    }
}
