// Server → client, one pump per binding: frames are copied to the client (or dropped while the pooler's own query
// is answered); ReadyForQuery settles one owed reply and, when nothing is owed, nothing is unsynced and the status
// is 'I', the server goes back to the pool. Status 'T'/'E' keeps it bound.
using System.Buffers;
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Pooling;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Pooler.Servers;
using Tuki.Pool.Pooler.Transport;

namespace Tuki.Pool.Pooler.Clients;

public sealed partial class ClientSession
{
    private long _serverStreamRemaining;
    private bool _fatalForwarded;

    private enum PumpStep { NeedMoreData, Release }

    // One per binding: its state machine comes from the runtime's pool and goes back when the next binding awaits
    // it (TakePump), so most transactions allocate none (with the inline server wait in the client loop, reused
    // pool waiters and reader segments: 440 → 127 bytes per transaction, bench/RESULTS.md).
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask PumpServerAsync(ServerConnection server)
    {
        var input = server.Input;
        byte[]? scratch = null;
        try
        {
            while (true)
            {
                StopContextFlow();
                var result = await input.ReadAsync().ConfigureAwait(false);
                var buffer = result.Buffer;
                var step = PumpStep.NeedMoreData;
                try
                {
                    step = ProcessServerFrames(server, ref buffer, ref scratch);
                    if (step != PumpStep.Release && result.IsCanceled && TryDeferredRelease(server))
                        step = PumpStep.Release; // woken by the client loop once its flush was over
                }
                finally
                {
                    // On release, anything after the last ReadyForQuery stays unexamined, so the pool's usability
                    // check sees it at once (an unexpected message means the server is not clean).
                    if (step == PumpStep.Release) input.AdvanceTo(buffer.Start);
                    else input.AdvanceTo(buffer.Start, buffer.End);
                }

                if (step == PumpStep.Release)
                {
                    if (_settingsChanged || server.StatementsUncertain || (_clientGone && HoldsServer))
                    {
                        // A round trip is due first: let the client have its ReadyForQuery meanwhile.
                        await FlushClientAsync().ConfigureAwait(false);
                        if (!await PrepareForPoolAsync(server).ConfigureAwait(false))
                        {
                            _pool!.Discard(server, DisconnectReason.ResetFailed);
                            return;
                        }
                        ReleaseToPool(server);
                        return;
                    }
                    // This client's reply leaves first: the release may hand the server to a waiting client whose
                    // transaction then runs on this very thread (see PoolWaiter).
                    var flushed = FlushClientAsync();
                    ReleaseToPool(server);
                    await flushed.ConfigureAwait(false);
                    return;
                }
                if (_statementModeViolated)
                {
                    _statementModeViolated = false;
                    EndStatementModeViolation();
                }
                await FlushClientAsync().ConfigureAwait(false);
                if (result.IsCompleted)
                    break;
            }
        }
        catch (Exception ex) when (ConnectionErrors.IsDisconnect(ex))
        {
            _context.Logger.LogDebug(ex, "Server connection {Server} failed", server);
        }
        catch (Exception ex)
        {
            // A bug or a server speaking nonsense: never leave the server half-used, never lose its pool slot.
            _context.Logger.LogError(ex, "Forwarding from {Server} failed", server);
            server.Close(DisconnectReason.Error);
        }
        OnServerLost(server);
    }

    /// <summary>Copies complete frames to the client (the pump never writes to the server: the client loop, and after
    /// it the release path, is the server's only writer).</summary>
    private PumpStep ProcessServerFrames(ServerConnection server, ref ReadOnlySequence<byte> buffer, ref byte[]? scratch)
    {
        var forward = !Volatile.Read(ref _clientGone);
        var original = buffer;
        var runStart = buffer.Start;   // frames from here to the current one are copied to the client in one go
        try
        {
            while (true)
            {
                if (_serverStreamRemaining > 0)
                {
                    var take = Math.Min(_serverStreamRemaining, buffer.Length);
                    buffer = buffer.Slice(take);
                    _serverStreamRemaining -= take;
                    if (_serverStreamRemaining > 0)
                        return PumpStep.NeedMoreData;
                }

                if (_swallow == 0 && buffer.IsSingleSegment && PassThroughLength(buffer.FirstSpan) is > 0 and var plain)
                    buffer = buffer.Slice(plain); // joins the run copied to the client

                if (!FrameReader.TryReadHeader(buffer, int.MaxValue, out var header))
                    return PumpStep.NeedMoreData;
                if (buffer.Length < header.FrameLength)
                {
                    // Stream big rows and COPY data as they arrive instead of buffering them whole.
                    if (header.FrameLength > StreamThreshold && _swallow == 0 && header.Code is not (BackendCode.ReadyForQuery or BackendCode.ParameterStatus))
                    {
                        _serverStreamRemaining = header.FrameLength - buffer.Length;
                        buffer = buffer.Slice(buffer.End);
                    }
                    return PumpStep.NeedMoreData;
                }

                var frame = buffer.Slice(0, header.FrameLength);
                var swallowing = _swallow > 0;
                switch (header.Code)
                {
                    case BackendCode.ReadyForQuery:
                        var status = frame.Slice(FrameHeader.Size, 1).FirstSpan[0];
                        if (swallowing)
                            SkipFrame(original, ref buffer, ref runStart, forward, header.FrameLength);
                        else
                            buffer = buffer.Slice(header.FrameLength);
                        if (OnReadyForQuery(status, swallowing))
                            return PumpStep.Release;
                        continue;
                    case BackendCode.ParameterStatus:
                        if (!swallowing)
                        {
                            var (name, value) = MessageParser.ParameterStatus(FrameReader.Body(frame, ref scratch));
                            server.Parameters[name] = value;
                            OnClientParameterChanged(name, value);
                        }
                        break;
                    case BackendCode.ErrorResponse:
                        if (swallowing)
                        {
                            // The pooler's own SET failed (e.g. a bad startup parameter value): tell the client as
                            // a notice rather than an error it would pair with its own request. The whole SET batch
                            // rolled back, so this server's recorded settings are wrong: it is closed at release.
                            server.ParametersUncertain = true;
                            Flush(original, ref runStart, buffer.Start, forward);
                            if (forward)
                            {
                                _output.GetSpan(1)[0] = BackendCode.NoticeResponse;
                                _output.Advance(1);
                                Copy(frame.Slice(1), _output);
                            }
                            buffer = buffer.Slice(header.FrameLength);
                            runStart = buffer.Start;
                            continue;
                        }
                        OnServerError(frame);
                        if (IsFatal(frame, ref scratch))
                            _fatalForwarded = true;
                        if (_statementsReset)
                            server.StatementsUncertain = true; // the DISCARD/DEALLOCATE may be what failed
                        break;
                    case BackendCode.CopyInResponse:
                        using (Lock()) _copyIn = true;
                        break;
                    case BackendCode.ParseComplete:
                    case BackendCode.CloseComplete:
                        if (swallowing || !_rewriteStatements)
                            break;
                        var action = OnStatementReply(server, header.Code);
                        if (action == Statements.ReplyAction.Forward)
                            break;
                        Flush(original, ref runStart, buffer.Start, forward);
                        if (action == Statements.ReplyAction.AnswerParse && forward)
                            _output.Write(Statements.StatementMessages.ParseComplete);
                        buffer = buffer.Slice(header.FrameLength);
                        runStart = buffer.Start;
                        continue;
                }

                if (swallowing)
                    SkipFrame(original, ref buffer, ref runStart, forward, header.FrameLength);
                else
                    buffer = buffer.Slice(header.FrameLength);
            }
        }
        finally
        {
            Flush(original, ref runStart, buffer.Start, forward);
        }
    }

    /// <summary>How many bytes at the start of <paramref name="span"/> are whole frames the pump only passes on
    /// (rows, descriptions, completions: most of a reply). They are stepped over on the span; the frames the pump
    /// looks at, and a frame cut off at the end, are left to the loop above.</summary>
    private int PassThroughLength(ReadOnlySpan<byte> span)
    {
        var offset = 0;
        while (FrameReader.TryReadWhole(span, offset, int.MaxValue, out var code, out var frameLength))
        {
            if (code is BackendCode.ReadyForQuery or BackendCode.ParameterStatus or BackendCode.ErrorResponse or BackendCode.CopyInResponse
                || (_rewriteStatements && code is BackendCode.ParseComplete or BackendCode.CloseComplete))
                break;
            offset += frameLength;
        }
        return offset;
    }

    private void SkipFrame(in ReadOnlySequence<byte> original, ref ReadOnlySequence<byte> buffer, ref SequencePosition runStart, bool forward, int frameLength)
    {
        Flush(original, ref runStart, buffer.Start, forward);
        buffer = buffer.Slice(frameLength);
        runStart = buffer.Start;
    }

    /// <summary>Copies the pending run of frames [runStart, end) of <paramref name="original"/> to the client.</summary>
    private void Flush(in ReadOnlySequence<byte> original, ref SequencePosition runStart, SequencePosition end, bool forward)
    {
        if (forward && !runStart.Equals(end))
            Copy(original.Slice(runStart, end), _output);
        runStart = end;
    }

    /// <summary>Settles one owed reply. Returns true when the server must go back to the pool now.</summary>
    private bool OnReadyForQuery(byte status, bool swallowed)
    {
        using (Lock())
        {
            if (swallowed) _swallow--;
            _pendingReplies--;
            SettleGroup();
            OnRequestDone(swallowed);
            _transactionStatus = status;
            if (_pendingReplies > 0 || _unsynced)
                return false;
            if (status != TransactionStatus.Idle && !swallowed)
                _idleInTransactionSince = LoopClock.Now;
            if (status != TransactionStatus.Idle && _mode == PoolMode.Statement && !swallowed && !_clientGone)
                _statementModeViolated = true;
            if (status == TransactionStatus.Idle)
            {
                if (HoldsServer && !_clientGone)
                    return false; // pinned or session mode: the server stays until the client leaves
                if (_flushing || _clientStreamRemaining > 0)
                {
                    _releaseDeferred = true; // the client loop still holds the server's writer
                    return false;
                }
                _server = null;
                return true;
            }
            if (_clientGone)
                _exitSignal?.Release(); // idle in a transaction with nobody to finish it: the release path rolls back
            return false;
        }
    }

    /// <summary>The release <see cref="OnReadyForQuery"/> deferred, once the client loop's flush is over.</summary>
    private bool TryDeferredRelease(ServerConnection server)
    {
        using (Lock())
        {
            if (_releaseHandedToPump == server)
            {
                _releaseHandedToPump = null;
                return true; // already unbound by the client loop's flush
            }
            if (_server != server || _flushing || _clientStreamRemaining > 0 || !CanReleaseLocked())
                return false;
            _server = null;
            return true;
        }
    }

    /// <summary>Nothing owed, nothing unsynced, idle, and not held for the session. Caller holds the session lock.</summary>
    private bool CanReleaseLocked() =>
        _pendingReplies == 0 && !_unsynced && _transactionStatus == TransactionStatus.Idle && !(HoldsServer && !_clientGone);

    private static bool IsFatal(in ReadOnlySequence<byte> frame, ref byte[]? scratch) =>
        MessageParser.ErrorResponse(FrameReader.Body(frame, ref scratch)).IsFatal;

    private async Task FlushClientAsync()
    {
        if (Volatile.Read(ref _clientGone))
            return;
        try
        {
            await _output.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ConnectionErrors.IsDisconnect(ex))
        {
            // The client vanished; its own loop notices and cleans the server up.
        }
    }

    private void ReleaseToPool(ServerConnection server)
    {
        OnTransactionReleased();
        if (server.ParametersUncertain)
            _pool!.Discard(server, DisconnectReason.Error);
        else if (!server.TryParkForCancel())
            _pool!.Return(server);
    }

    /// <summary>The bound server failed: the pool replaces it; the client hears why and is disconnected, since
    /// its transaction is gone.</summary>
    private void OnServerLost(ServerConnection server)
    {
        bool clientGone;
        var unbound = false;
        using (Lock())
        {
            // The client's transaction was over and it is no longer bound: only the pool hears of it.
            if (_releaseHandedToPump == server)
            {
                _releaseHandedToPump = null;
                unbound = true;
            }
        }
        if (unbound)
        {
            _pool!.Discard(server, DisconnectReason.ServerGone);
            return;
        }
        using (Lock())
        {
            if (_server == server)
                _server = null;
            _serverLost = true;
            clientGone = _clientGone;
            _replyWaiter?.TrySetResult();
            _replyWaiter = null;
        }
        _pool!.Discard(server, DisconnectReason.ServerGone);
        if (clientGone)
            return;
        try
        {
            if (!_fatalForwarded)
                MessageWriter.WriteErrorResponse(_output, PgErrors.ServerConnectionLost());
            _ = _output.FlushAsync();
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        _input.CancelPendingRead();
    }
}
