// Forwarding one transaction's reply through a pipe the way ClientSession does: frames found with FrameReader,
// the run of frames copied segment by segment into the peer's PipeWriter (ClientSession.Copy), one flush per
// read batch, and the reader side drained as the socket sender would.
using System.Buffers;
using System.IO.Pipelines;
using BenchmarkDotNet.Attributes;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Bench.Micro;

public class ForwardCopyBenchmarks
{
    private ReadOnlySequence<byte> _reply;
    private Pipe _pipe = null!;

    /// <summary>False: the reply in one segment (the usual case); true: in 16-byte segments.</summary>
    [Params(false, true)]
    public bool MultiSegment { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var bytes = ServerReplies.ExtendedSelect();
        _reply = MultiSegment ? ServerReplies.Segmented(bytes, 16) : new ReadOnlySequence<byte>(bytes);
        // Inline schedulers: this measures the copy and the pipe bookkeeping, not thread-pool hops.
        _pipe = new Pipe(new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline,
            minimumSegmentSize: 8192, useSynchronizationContext: false));
    }

    [Benchmark(Description = "frame scan + segment copy + flush + drain")]
    public async ValueTask<long> ForwardReply()
    {
        var buffer = _reply;
        var start = buffer.Start;
        while (FrameReader.TryReadFrame(ref buffer, int.MaxValue, out _, out _)) { }
        foreach (var segment in _reply.Slice(start, buffer.Start))
            _pipe.Writer.Write(segment.Span);
        await _pipe.Writer.FlushAsync().ConfigureAwait(false);

        var read = await _pipe.Reader.ReadAsync().ConfigureAwait(false);
        var length = read.Buffer.Length;
        _pipe.Reader.AdvanceTo(read.Buffer.End);
        return length;
    }
}
