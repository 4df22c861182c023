// The one place pipe options are chosen for both sides of the pooler. Numbers are starting points; issue 5
// (performance) tunes them by measurement.
using System.IO.Pipelines;
using Pipelines.Sockets.Unofficial;

namespace Tuki.Pool.Pooler.Transport;

public static class PipeSettings
{
    // A writer pauses once 1 MiB is buffered and unread, and resumes under 512 KiB (Kestrel's figures): enough to
    // stream large results at full speed, small enough that a client that stops reading cannot make the pooler
    // buffer a whole result set. The pause travels back to PostgreSQL as TCP backpressure.
    private const long PauseWriterThreshold = 1024 * 1024;
    private const long ResumeWriterThreshold = 512 * 1024;

    // Segments of 8 KiB match PostgreSQL's own send buffer, so one server read usually fills one segment.
    private const int MinimumSegmentSize = 8192;

    public static readonly PipeOptions Options = new(
        pool: null,
        readerScheduler: PipeScheduler.ThreadPool,
        writerScheduler: PipeScheduler.ThreadPool,
        pauseWriterThreshold: PauseWriterThreshold,
        resumeWriterThreshold: ResumeWriterThreshold,
        minimumSegmentSize: MinimumSegmentSize,
        useSynchronizationContext: false);

    // Zero-length reads: an idle client holds no receive buffer until bytes arrive (P.S.U's ZeroLengthReads),
    // which is what keeps thousands of idle clients cheap.
    public const SocketConnectionOptions ClientSocketOptions = SocketConnectionOptions.ZeroLengthReads;
    public const SocketConnectionOptions ServerSocketOptions = SocketConnectionOptions.ZeroLengthReads;
}
