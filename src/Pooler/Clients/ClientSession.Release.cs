// A client that leaves while it holds a server never hands a dirty server to the next client: pending work is
// finished or cancelled, the transaction is rolled back and the 'I' status confirmed, or the server is closed.
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

    private async Task ReleaseOnExitAsync(ClientExit exit)
    {
        ServerConnection? server;
        Task pump;
        var flush = false;
        lock (_sync)
        {
            _clientGone = true;
            server = _serverLost ? null : _server;
            pump = _pump;
            if (server is not null)
            {
                var output = server.Output;
                if (_clientStreamRemaining > 0)
                {
                    // Half a message went to the server: its protocol state cannot be repaired, only closed.
                    server.Close(DisconnectReason.ResetFailed);
                }
                else
                {
                    if (_copyIn)
                    {
                        MessageWriter.WriteCopyFail(output, "client disconnected");
                        _copyIn = false;
                    }
                    if (_unsynced)
                    {
                        MessageWriter.WriteSync(output);
                        _pendingReplies++;
                        _unsynced = false;
                    }
                    if (_pendingReplies == 0)
                    {
                        // Idle inside a transaction: nothing will come from the server unless we ask.
                        MessageWriter.WriteQuery(output, "ROLLBACK");
                        _pendingReplies++;
                        _swallow++;
                    }
                    flush = true;
                }
            }
        }

        if (server is not null)
        {
            if (flush)
            {
                try { await server.Output.FlushAsync().ConfigureAwait(false); }
                catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException) { }
            }
            if (!await CompletesWithin(pump, ResetGrace).ConfigureAwait(false))
            {
                await server.SendCancelAsync().ConfigureAwait(false);
                if (!await CompletesWithin(pump, ResetTimeout).ConfigureAwait(false))
                    server.Close(DisconnectReason.ResetFailed);
            }
        }
        await pump.ConfigureAwait(false);

        if (exit == ClientExit.ServerLost)
        {
            try { await _output.FlushAsync().ConfigureAwait(false); }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException) { }
        }
    }

    private static async Task<bool> CompletesWithin(Task task, TimeSpan timeout)
    {
        if (task.IsCompleted)
            return true;
        try
        {
            await task.WaitAsync(timeout).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
