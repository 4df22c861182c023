// FrameReader.TryReadFrame over one transaction's server reply: the per-frame cost of the forwarding hot path.
using System.Buffers;
using BenchmarkDotNet.Attributes;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Bench.Micro;

public class FrameReaderBenchmarks
{
    private ReadOnlySequence<byte> _single;
    private ReadOnlySequence<byte> _multi;

    [GlobalSetup]
    public void Setup()
    {
        var reply = ServerReplies.ExtendedSelect();
        _single = new ReadOnlySequence<byte>(reply);
        // 16-byte segments: most headers cross a segment end, far worse than 8 KiB pipe segments ever are.
        _multi = ServerReplies.Segmented(reply, 16);
    }

    [Benchmark(Baseline = true, Description = "6 frames, single segment")]
    public int SingleSegment() => ReadAll(_single);

    [Benchmark(Description = "6 frames, 16-byte segments")]
    public int MultiSegment() => ReadAll(_multi);

    private static int ReadAll(ReadOnlySequence<byte> buffer)
    {
        var frames = 0;
        while (FrameReader.TryReadFrame(ref buffer, int.MaxValue, out _, out _))
            frames++;
        return frames;
    }
}
