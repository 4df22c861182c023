// Opening and wrapping sockets as duplex pipes (bytes only; nothing about PostgreSQL here).
using System.Net;
using System.Net.Sockets;
using Pipelines.Sockets.Unofficial;

namespace Tuki.Pool.Pooler.Transport;

public static class Connection
{
    public static ClientSocket FromAccepted(Socket socket)
    {
        SocketTuning.Apply(socket);
        return new ClientSocket(socket);
    }

    /// <summary>Connects to <paramref name="host"/>:<paramref name="port"/>, resolving the name on every call so DNS
    /// changes of the database host are picked up by new server connections.</summary>
    public static async Task<SocketConnection> ConnectAsync(string host, int port, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(host, out var ip) ? [ip] : await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        Exception? last = null;
        foreach (var address in addresses)
        {
            var socket = new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                SocketTuning.Apply(socket);
                await socket.ConnectAsync(new IPEndPoint(address, port), cancellationToken).ConfigureAwait(false);
                return SocketConnection.Create(socket, PipeSettings.Options, PipeSettings.ServerSocketOptions);
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
