// Opening and wrapping sockets as duplex pipes (bytes only; nothing about PostgreSQL here).
using System.Net;
using System.Net.Sockets;
using Pipelines.Sockets.Unofficial;

namespace Tuki.Pool.Pooler.Transport;

public static class Connection
{
    public static SocketPipe FromAccepted(Socket socket)
    {
        SocketTuning.Apply(socket);
        return new SocketPipe(socket);
    }

    /// <summary>A connection accepted on a readiness loop (<see cref="SocketCalls.Accept"/>): no Socket object.
    /// <paramref name="tune"/> false: it has the options already, copied from its listening socket.</summary>
    internal static SocketPipe FromAccepted(SocketDescriptor accepted, bool tune = true)
    {
        if (tune)
            SocketCalls.Tune(accepted);
        return SocketPipe.FromDescriptor(accepted);
    }

    /// <summary>A server connection: the same lean socket pipe as clients. With the epoll loop the connect itself
    /// waits on the loop: a socket that ever ran a .NET async operation stays registered with .NET's own epoll
    /// threads, which would then wake for every reply of the server for nothing.</summary>
    public static Task<SocketPipe> ConnectAsync(string host, int port, CancellationToken cancellationToken) =>
        ConnectAnyAsync(host, port, async (socket, endPoint, token) =>
        {
            if (ReadinessLoop.Enabled)
                return await SocketPipe.ConnectAsync(socket, endPoint, token).ConfigureAwait(false);
            await socket.ConnectAsync(endPoint, token).ConfigureAwait(false);
            return new SocketPipe(socket);
        }, cancellationToken);

    /// <summary>A short-lived connection (a CancelRequest): P.S.U's SocketConnection.</summary>
    public static Task<SocketConnection> ConnectShortLivedAsync(string host, int port, CancellationToken cancellationToken) =>
        ConnectAnyAsync(host, port, async (socket, endPoint, token) =>
        {
            await socket.ConnectAsync(endPoint, token).ConfigureAwait(false);
            return SocketConnection.Create(socket, PipeSettings.Options, PipeSettings.ShortLivedSocketOptions);
        }, cancellationToken);

    /// <summary>Connects to <paramref name="host"/>:<paramref name="port"/>, trying each address in turn and resolving
    /// the name on every call, so DNS changes of the database host are picked up by new server connections.</summary>
    private static async Task<T> ConnectAnyAsync<T>(string host, int port, Func<Socket, IPEndPoint, CancellationToken, Task<T>> connect,
        CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(host, out var ip) ? [ip] : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                SocketTuning.Apply(socket);
                return await connect(socket, new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is SocketException or OperationCanceledException)
            {
                socket.Dispose();
                last = ex;
                if (ex is OperationCanceledException) throw;
            }
        }
        throw last ?? new SocketException((int)SocketError.HostNotFound);
    }
}
