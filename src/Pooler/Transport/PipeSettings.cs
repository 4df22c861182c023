// The one place pipe and socket scheduling is chosen, by measurement (bench/RESULTS.md, issue 5): on a small machine
// that PostgreSQL and the clients share, the pooler's cost per transaction is mostly threads being woken and
// switched, so the forwarding path runs where the bytes arrive instead of hopping threads. These pipes serve TLS and
// the short-lived cancel connections (P.S.U); client and server sockets are SocketPipe.
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

    // Inline schedulers: the code awaiting a pipe continues on the thread that filled or drained it, so a decrypted
    // TLS record goes on with no thread-pool hop (the thread-pool scheduler cost ~8 hand-offs per transaction and
    // 2-3× PgBouncer's CPU). Plain sockets have no pipes at all (SocketPipe). The price is Kestrel's "unsafe inline"
    // rule: nothing on these paths may block, and nothing may complete a pipe operation while holding a lock the
    // continuation could need. See README.md, "Threads and sockets".
    public static readonly PipeOptions Options = new(
        pool: null,
        readerScheduler: PipeScheduler.Inline,
        writerScheduler: PipeScheduler.Inline,
        pauseWriterThreshold: PauseWriterThreshold,
        resumeWriterThreshold: ResumeWriterThreshold,
        minimumSegmentSize: MinimumSegmentSize,
        useSynchronizationContext: false);

    // Socket completions continue P.S.U's receive and send loops inline too (without these flags P.S.U re-queues
    // every completion to the pipe's scheduler: one more hop per socket operation).
    private const SocketConnectionOptions Inline = SocketConnectionOptions.InlineReads | SocketConnectionOptions.InlineWrites;

    // Cancel connections read straight into a buffer, with no zero-length reads (two extra syscalls per read that only
    // pay off for idle sockets). Client and server sockets do not use P.S.U (SocketPipe).
    public const SocketConnectionOptions ShortLivedSocketOptions = Inline;
}
