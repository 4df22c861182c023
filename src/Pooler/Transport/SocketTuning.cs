// Socket options applied to every connection, client or server.
using System.Net.Sockets;

namespace Tuki.Pool.Pooler.Transport;

public static class SocketTuning
{
    public static void Apply(Socket socket)
    {
        // Protocol messages are small and latency-bound: never wait for Nagle to coalesce them.
        socket.NoDelay = true;
        // Keepalive finds peers that vanished without a FIN (a killed VM, a dropped NAT entry).
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
    }
}
