// Client → server: frames are forwarded whole by copying buffer segments; only the 5-byte header is read (runs of
// frames that need no look inside go in one copy from the buffer's span: ForwardPassThrough). A
// server is rented at the first message of a transaction. Each Query/Sync/FunctionCall adds a reply the server
// owes; extended-protocol messages without a Sync yet keep the server bound (see the pump for the release). The
// loop that reads the client and awaits servers is in RunAsync (ClientSession.cs); the steps it takes are here.
using System.Buffers;
using System.IO.Pipelines;
using Tuki.Pool.Pooler.Pooling;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Pooler.Servers;
using Tuki.Pool.Pooler.Statements;
using Tuki.Pool.Pooler.Transport;

namespace Tuki.Pool.Pooler.Clients;

public sealed partial class ClientSession
{
    // listen.max_message_size (PostgreSQL's own limit, PQ_LARGE_MESSAGE_LIMIT, is the 1 GiB default); read at login.
    private int _maxClientMessageLength = 1024 * 1024 * 1024;

    // A frame bigger than this is streamed to the server as its bytes arrive instead of being buffered whole
    // (COPY data, huge Bind parameters). Smaller ones are forwarded once complete.
    private const int StreamThreshold = 64 * 1024;

    private long _clientStreamRemaining;
    private long _clientSkipRemaining;

    // True from the moment the client loop writes to the bound server until its flush has returned. PipeWriter is
    // single-producer: the server must not go back to the pool (and to another client's loop) in that window, so a
    // release that falls due meanwhile is deferred and done by the pump once the flush is over.
    private bool _flushing;
    private bool _releaseDeferred;
    private ServerConnection? _releaseHandedToPump; // unbound by the flush above; the pump returns it to the pool

    // ServerLost: the bound server died while the loop waited for it; set by the loop, never by ForwardFrames.
    private enum ForwardStep { NeedMoreData, NeedServer, Terminate, WaitForReplies, AnswerLocally, ServerLost }

    /// <summary>After one read batch of the client loop (<see cref="RunAsync"/>): how the session ends, or null to
    /// read on. Shutdown and the idle-in-transaction timeout wake the loop with a cancelled read.</summary>
    private ClientExit? ExitAfter(ForwardStep step, bool canceled, bool completed)
    {
        if (step == ForwardStep.ServerLost)
            return ClientExit.ServerLost;
        if (step == ForwardStep.Terminate)
            return ClientExit.Terminate;
        if (canceled && DrainDue())
            throw new PgErrorException(PgErrors.Shutdown());
        if (canceled && Volatile.Read(ref _timedOut)) // after login the sweep sets it only for an idle transaction
            throw new PgErrorException(PgErrors.IdleInTransactionTimeout(IdleTransactionTimeout));
        if (canceled || Volatile.Read(ref _serverLost))
            return ClientExit.ServerLost;
        return completed ? ClientExit.Gone : null;
    }

    /// <summary>Forwards every complete frame in <paramref name="buffer"/> to the bound server and counts the
    /// replies it will owe. Stops at a frame that needs a server when none is bound.</summary>
    private ForwardStep ForwardFrames(ref ReadOnlySequence<byte> buffer, ref PipeWriter? flushTarget)
    {
        using (Lock())
        {
            while (true)
            {
                if (_clientSkipRemaining > 0)
                {
                    // The rest of a large COPY frame that arrived with no server bound: dropped (see below).
                    var skip = Math.Min(_clientSkipRemaining, buffer.Length);
                    buffer = buffer.Slice(skip);
                    _clientSkipRemaining -= skip;
                    if (_clientSkipRemaining > 0)
                        return ForwardStep.NeedMoreData;
                }
                if (_clientStreamRemaining > 0)
                {
                    // The rest of a large frame whose head was already forwarded: the server is still bound
                    // (release waits for the frame to end), unless it was lost.
                    if (_server is null)
                        return ForwardStep.NeedServer;
                    var take = Math.Min(_clientStreamRemaining, buffer.Length);
                    Copy(buffer.Slice(0, take), _server.Output);
                    flushTarget = _server.Output;
                    _flushing = true;
                    buffer = buffer.Slice(take);
                    _clientStreamRemaining -= take;
                    if (_clientStreamRemaining > 0)
                        return ForwardStep.NeedMoreData;
                }

                if (_server is not null && buffer.IsSingleSegment && ForwardPassThrough(buffer.FirstSpan, _server.Output) is > 0 and var passed)
                {
                    flushTarget = _server.Output;
                    _flushing = true;
                    buffer = buffer.Slice(passed);
                }

                if (!FrameReader.TryReadHeader(buffer, _maxClientMessageLength, out var header))
                    return ForwardStep.NeedMoreData;
                if (header.Code == FrontendCode.Terminate)
                {
                    buffer = buffer.Slice(Math.Min(buffer.Length, header.FrameLength));
                    return ForwardStep.Terminate;
                }

                var whole = buffer.Length >= header.FrameLength;
                if (!whole && header.FrameLength <= StreamThreshold)
                    return ForwardStep.NeedMoreData;
                if (_server is null)
                {
                    if (header.Code == FrontendCode.Query && whole && _inspect && TryAnswerLocally(buffer.Slice(0, header.FrameLength)))
                    {
                        buffer = buffer.Slice(header.FrameLength);
                        return ForwardStep.AnswerLocally;
                    }
                    if (header.Code is not (FrontendCode.CopyData or FrontendCode.CopyDone or FrontendCode.CopyFail or FrontendCode.Flush))
                        return ForwardStep.NeedServer;
                    // COPY data after the server already ended the COPY with an error (and was released), or a
                    // Flush with nothing pending: PostgreSQL would ignore them, so no server is rented for them.
                    var available = Math.Min(buffer.Length, header.FrameLength);
                    _clientSkipRemaining = header.FrameLength - available;
                    buffer = buffer.Slice(available);
                    continue;
                }

                if (_inspect && header.Code is FrontendCode.Query or FrontendCode.Parse or FrontendCode.Bind or FrontendCode.Describe or FrontendCode.Close)
                {
                    var look = header.Code == FrontendCode.Query
                        ? ForwardQuery(ref buffer, header, whole)
                        : ForwardStatementMessage(ref buffer, header, whole);
                    if (look == Look.NeedMoreData)
                        return ForwardStep.NeedMoreData;
                    if (look == Look.WaitForReplies)
                        return ForwardStep.WaitForReplies;
                    if (look == Look.Forwarded)
                    {
                        flushTarget = _server.Output;
                        _flushing = true;
                        if (_clientStreamRemaining > 0)
                            return ForwardStep.NeedMoreData;
                        continue;
                    }
                }

                CountRequest(header.Code);
                var output = _server.Output;
                flushTarget = output;
                _flushing = true;
                if (whole)
                {
                    Copy(buffer.Slice(0, header.FrameLength), output);
                    buffer = buffer.Slice(header.FrameLength);
                }
                else
                {
                    Copy(buffer, output);
                    _clientStreamRemaining = header.FrameLength - buffer.Length;
                    buffer = buffer.Slice(buffer.End);
                    return ForwardStep.NeedMoreData;
                }
            }
        }
    }

    /// <summary>Forwards the whole frames at the start of <paramref name="span"/> that need no look inside (Bind and
    /// Describe of the unnamed statement, Execute, Sync; all but Terminate when nothing is inspected) with one copy, and
    /// counts what they make the server owe. Returns the bytes forwarded; the loop above takes the frame it stopped at.
    /// Caller holds the session lock, with a server bound.</summary>
    private int ForwardPassThrough(ReadOnlySpan<byte> span, PipeWriter output)
    {
        var offset = 0;
        while (FrameReader.TryReadWhole(span, offset, _maxClientMessageLength, out var code, out var frameLength))
        {
            if (code == FrontendCode.Terminate || (_inspect && !IsPassThrough(code, span.Slice(offset + FrameHeader.Size, frameLength - FrameHeader.Size))))
                break;
            CountRequest(code);
            offset += frameLength;
        }
        if (offset > 0)
            output.Write(span[..offset]);
        return offset;
    }

    /// <summary>Whether a message forwarded in transaction or statement mode needs no look inside: it carries no SQL and
    /// names no prepared statement (<see cref="ForwardStatementMessage"/> passes these on unchanged).</summary>
    private static bool IsPassThrough(byte code, ReadOnlySpan<byte> body) => code switch
    {
        FrontendCode.Query or FrontendCode.Parse or FrontendCode.Close => false,
        FrontendCode.Bind or FrontendCode.Describe => StatementMessages.TryFindName(code, body, out _, out var length, out _) && length == 0,
        _ => true,
    };

    /// <summary>Flushes what the client loop wrote to the server, then performs a release that fell due meanwhile.</summary>
    private async Task FlushServerAsync(PipeWriter output)
    {
        try
        {
            await output.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ConnectionErrors.IsDisconnect(ex))
        {
            // The server died under us: its pump sees the same failure and reports it to the client.
        }
        ServerConnection? wake = null;
        using (Lock())
        {
            _flushing = false;
            if (_releaseDeferred && _clientStreamRemaining == 0)
            {
                _releaseDeferred = false;
                // The binding ends now, not when the pump gets round to it: the client has its ReadyForQuery and
                // its next message must rent a server of its own, not slip into this binding (the pump may be busy
                // flushing to the client, on another thread, when the client answers).
                if (_server is { } server && CanReleaseLocked())
                {
                    _server = null;
                    _releaseHandedToPump = server;
                }
                wake = _releaseHandedToPump ?? _server;
            }
        }
        // Wake the pump, which owns the server's input, so it performs the release itself. Outside the lock: with
        // inline pipes the pump runs right here, inside this call.
        wake?.Input.CancelPendingRead();
    }

    /// <summary>Bookkeeping of what the server will owe. Caller holds the session lock.</summary>
    private void CountRequest(byte code)
    {
        _idleInTransactionSince = 0;
        switch (code)
        {
            case FrontendCode.Query:
            case FrontendCode.FunctionCall:
                ExpectReadyForQuery();
                OnRequestSent();
                break;
            case FrontendCode.Sync:
                ExpectReadyForQuery();
                OnRequestSent();
                _unsynced = false;
                break;
            case FrontendCode.CopyData:
            case FrontendCode.CopyDone:
            case FrontendCode.CopyFail:
                // Part of a COPY started by a Query or Execute whose reply is already counted.
                if (code != FrontendCode.CopyData)
                    _copyIn = false;
                break;
            case FrontendCode.Flush:
                break;
            default:
                // Parse, Bind, Describe, Execute, Close: the server answers them only once a Sync arrives.
                _unsynced = true;
                break;
        }
    }

    private static void Copy(in ReadOnlySequence<byte> source, PipeWriter destination)
    {
        foreach (var segment in source)
            destination.Write(segment.Span);
    }

    private static PgError? RentError(Exception ex) => ex switch
    {
        PoolWaitTimeoutException timeout => PgErrors.QueryWaitTimeout(timeout.Key.Database, timeout.Key.User, timeout.Waited, timeout.Size),
        ServerLoginException login => login.Error,
        _ => null,
    };

    /// <summary>The server rented for the next transaction: syncs session settings, starts the pump.</summary>
    private void BindServer(ServerConnection server)
    {
        var now = LoopClock.Now;
        using (Lock())
        {
            OnServerBoundLocked(now);
            _server = server;
            _pendingReplies = 0;
            _unsynced = false;
            _swallow = 0;
            _copyIn = false;
            _transactionStatus = TransactionStatus.Idle;
            _serverStreamRemaining = 0;
            _releaseDeferred = false;
            _releaseHandedToPump = null;
            _settingsChanged = false;
            _statementsReset = false;
            ResetReplyTracking();
            if (BuildParameterSync(server) is { } queries)
            {
                foreach (var sql in queries)
                {
                    MessageWriter.WriteQuery(server.Output, sql);
                    ExpectReadyForQuery();
                    _swallow++;
                }
                _flushing = true; // flushed with the client's frames that follow
            }
        }
        _pump = PumpServerAsync(server);
    }

    /// <summary>The last binding's pump, to be awaited once (its state machine is pooled: a second await would see
    /// another binding's).</summary>
    private ValueTask TakePump()
    {
        var pump = _pump;
        _pump = default;
        return pump;
    }
}
