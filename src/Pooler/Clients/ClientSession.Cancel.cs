// CancelRequest for this client: forwarded to the server it is bound to right now, with that server's real key.
// The server is held back from the pool until the cancel has been delivered, so a late cancel cannot hit the
// next client's query on that server.
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Servers;

namespace Tuki.Pool.Pooler.Clients;

public sealed partial class ClientSession
{
    public async Task ForwardCancelAsync()
    {
        ServerConnection? server;
        using (Lock())
        {
            server = _server;
            if (server is null)
                return; // nothing running: PostgreSQL would ignore it too
            server.BeginCancel();
        }
        _context.Logger.LogDebug("Cancel for client {Pid} forwarded to {Server}", _processId, server);
        try
        {
            await server.SendCancelAsync().ConfigureAwait(false);
        }
        finally
        {
            if (server.EndCancel())
                _pool!.Return(server);
        }
    }
}
