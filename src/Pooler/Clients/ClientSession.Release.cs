// A client that leaves while it holds a server never hands a dirty server to the next client: pending work is
// finished (or cancelled), the transaction is rolled back and the 'I' status confirmed, or the server is closed.
// From here on this path is the server's only writer; the pump only reads and, at 'I', releases.
using Tuki.Pool.Pooler.Pooling;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Pooler.Servers;

namespace Tuki.Pool.Pooler.Clients;

public sealed partial class ClientSession
{
    // A reply due within this time (a short query finishing) is simply awaited; after it the query is cancelled.
    private static readonly TimeSpan ResetGrace = TimeSpan.FromMilliseconds(100);
    // After the cancel, how long the rollback may take before the server is closed instead.
    private static readonly TimeSpan ResetTimeout = TimeSpan.FromSeconds(5);

    // Body of a Parse (text, no parameter types) that always fails with a syntax error: its name is in it for the log.
    private static ReadOnlySpan<byte> AbortUnsyncedParse => "tuki: client disconnected before Sync\0\0\0"u8;

    // Released by the pump when the server reports a transaction still open and nothing owed: time to ROLLBACK.
    private SemaphoreSlim? _exitSignal;

    private async Task ReleaseOnExitAsync(ClientExit exit)
    {
        ServerConnection? server;
        ValueTask binding;
        using (Lock())
        {
            _clientGone = true;
            server = _serverLost ? null : _server;
            if (server is not null)
                _exitSignal = new SemaphoreSlim(0); // only a client that leaves while bound may need a ROLLBACK
            binding = TakePump();
            if (server is not null && _clientStreamRemaining > 0)
            {
                // Half a message went to the server: its protocol state cannot be repaired, only closed.
                server.Close(DisconnectReason.ResetFailed);
                server = null;
            }
            else if (server is not null)
            {
                if (_copyIn)
                {
                    MessageWriter.WriteCopyFail(server.Output, "client disconnected");
                    _copyIn = false;
                }
                if (_unsynced)
                {
                    // A bare Sync would COMMIT the implicit transaction of work the client never confirmed with
                    // its own Sync; PostgreSQL rolls that back when a client disconnects. A Parse that cannot
                    // succeed makes the server abort it and skip to our Sync (or is itself skipped after an error).
                    MessageWriter.WriteParse(server.Output, ""u8, AbortUnsyncedParse);
                    MessageWriter.WriteSync(server.Output);
                    ExpectReadyForQuery();
                    _unsynced = false;
                }
                WriteRollbackIfIdleInTransactionLocked(server);
            }
        }
        // A pump blocked on a client that stopped reading must not hold the server hostage.
        _output.CancelPendingFlush();
        var pump = binding.AsTask(); // awaited more than once below

        if (server is not null)
            await DrainAndRollbackAsync(server, pump).ConfigureAwait(false);
        await pump.ConfigureAwait(false);

        if (exit == ClientExit.ServerLost)
        {
            try { await _output.FlushAsync().ConfigureAwait(false); }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException) { }
        }
    }

    /// <summary>Nothing owed but the server sits in a transaction ('T'/'E') or awaits our Sync's reply: ask for a
    /// ROLLBACK; the pump releases the server at the 'I' that answers it. Caller holds the session lock.</summary>
    private void WriteRollbackIfIdleInTransactionLocked(ServerConnection server)
    {
        if (_server != server || _pendingReplies > 0)
            return;
        MessageWriter.WriteQuery(server.Output, "ROLLBACK");
        ExpectReadyForQuery();
        _swallow++;
    }

    private async Task DrainAndRollbackAsync(ServerConnection server, Task pump)
    {
        var started = TimeProvider.System.GetTimestamp();
        var cancelled = false;
        while (true)
        {
            // Flush what this path wrote; the flush guard (see Forwarding) makes a release that falls due now wait.
            // Once the pump has released the server, it belongs to the pool: never touch it again.
            using (Lock())
            {
                if (_server != server)
                    return;
                _flushing = true;
            }
            await FlushServerAsync(server.Output).ConfigureAwait(false);

            var elapsed = TimeProvider.System.GetElapsedTime(started);
            var limit = cancelled ? ResetGrace + ResetTimeout : ResetGrace;
            var signalled = await WaitForPumpOrSignalAsync(pump, limit - elapsed).ConfigureAwait(false);
            if (pump.IsCompleted)
                return;
            using (Lock())
            {
                if (_server != server)
                    return; // released: the pump may be resetting it (reset_query), never cancel that
            }
            if (signalled)
            {
                using (Lock()) WriteRollbackIfIdleInTransactionLocked(server);
                continue;
            }
            if (!cancelled)
            {
                // Still running after the grace period: cancel it (held like a client's cancel, so the server
                // cannot reach another client before the cancel has landed), then roll back.
                cancelled = true;
                server.BeginCancel();
                try { await server.SendCancelAsync().ConfigureAwait(false); }
                finally
                {
                    if (server.EndCancel())
                        _pool!.Return(server); // the pump released it while the cancel was in flight
                }
                continue;
            }
            using (Lock())
            {
                if (_server == server)
                    server.Close(DisconnectReason.ResetFailed); // the pump sees EOF and discards it
            }
            return;
        }
    }

    /// <summary>True when the pump signalled (a ROLLBACK is due), false on completion or timeout.</summary>
    private async Task<bool> WaitForPumpOrSignalAsync(Task pump, TimeSpan timeout)
    {
        if (timeout <= TimeSpan.Zero)
            return false;
        var signal = _exitSignal!.WaitAsync(timeout);
        var first = await Task.WhenAny(pump, signal).ConfigureAwait(false);
        return first == signal && await signal.ConfigureAwait(false);
    }
}
