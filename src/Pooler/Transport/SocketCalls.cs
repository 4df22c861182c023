// Non-blocking recv/send (and accept, options, addresses) straight to libc, for the sockets a ReadinessLoop serves
// (Linux). .NET's Receive/Send need the socket marked non-blocking through Socket.Blocking, and that creates a
// SocketAsyncContext with its three lock objects (≈220 bytes) for every socket, which these sockets never use: at
// 10,000 idle clients that is a tenth of their memory. The SafeHandle parameters keep the descriptor alive across
// each call, as .NET's own calls do.
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Tuki.Pool.Pooler.Transport;

internal static class SocketCalls
{
    /// <summary>Sets O_NONBLOCK on the descriptor without telling .NET (so it creates no async context); only for
    /// sockets whose reads and writes all go through <see cref="Receive"/> and <see cref="Send"/>.</summary>
    public static bool TrySetNonBlocking(SafeHandle socket)
    {
        try
        {
            var flags = fcntl(socket, GetFlags, 0);
            return flags >= 0 && ((flags & NonBlocking) != 0 || fcntl(socket, SetFlags, flags | NonBlocking) == 0);
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
    }

    /// <summary>A socket's non-blocking receive: through libc when it is on a loop (<paramref name="socket"/> is then
    /// unused, and null for an accepted client), through .NET otherwise (.NET then knows it as non-blocking).</summary>
    public static int Receive(SafeHandle handle, Socket? socket, bool viaLibc, byte[] array, int offset, int count, out SocketError error) =>
        viaLibc
            ? Receive(handle, array, offset, count, out error)
            : socket!.Receive(array, offset, count, SocketFlags.None, out error);

    /// <summary>A socket's non-blocking send, chosen as <see cref="Receive(SafeHandle, Socket?, bool, byte[], int, int, out SocketError)"/>.</summary>
    public static int Send(SafeHandle handle, Socket? socket, bool viaLibc, byte[] array, int offset, int count, out SocketError error) =>
        viaLibc
            ? Send(handle, array, offset, count, out error)
            : socket!.Send(array, offset, count, SocketFlags.None, out error);

    /// <summary>recv(2): bytes read (0 at the peer's FIN), or 0 with <paramref name="error"/> set.</summary>
    private static int Receive(SafeHandle socket, byte[] array, int offset, int count, out SocketError error)
    {
        nint received;
        while ((received = recv(socket, ref array[offset], (nuint)count, 0)) < 0 && Marshal.GetLastPInvokeError() == EINTR)
        {
        }
        return Outcome(received, out error);
    }

    /// <summary>send(2) without SIGPIPE: bytes the kernel took, or 0 with <paramref name="error"/> set.</summary>
    private static int Send(SafeHandle socket, byte[] array, int offset, int count, out SocketError error)
    {
        nint sent;
        while ((sent = send(socket, ref array[offset], (nuint)count, NoSignal)) < 0 && Marshal.GetLastPInvokeError() == EINTR)
        {
        }
        return Outcome(sent, out error);
    }

    /// <summary>accept4(2) on a listening socket made non-blocking by <see cref="TrySetNonBlocking"/>: the connection's
    /// descriptor, already non-blocking (SOCK_NONBLOCK has the value of O_NONBLOCK), or null with <paramref name="error"/> set (WouldBlock: the backlog is empty). No Socket object: .NET's
    /// Accept on a listener it knows as non-blocking gives every accepted socket that mode too, and with it a
    /// SocketAsyncContext (≈150 bytes per client), and <c>new Socket(handle)</c> costs 112 bytes and seven syscalls per
    /// login (type, addresses, mode); a client on a loop needs none of it (see SocketPipe).</summary>
    public static SocketDescriptor? Accept(SafeHandle listener, out SocketError error)
    {
        var fd = accept4(listener, 0, 0, CloseOnExec | NonBlocking); // born non-blocking: no fcntl per login
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            error = errno switch
            {
                EINTR => SocketError.Interrupted,
                24 or 23 => SocketError.TooManyOpenSockets, // EMFILE, ENFILE
                105 or 12 => SocketError.NoBufferSpaceAvailable, // ENOBUFS, ENOMEM
                _ => ToSocketError(errno),
            };
            return null;
        }
        error = SocketError.Success;
        return new SocketDescriptor(fd, nonBlocking: true);
    }

    /// <summary>TCP_NODELAY and SO_KEEPALIVE on a descriptor without a Socket object (see <see cref="SocketTuning"/>).</summary>
    public static void Tune(SafeHandle socket)
    {
        var on = 1;
        if (setsockopt(socket, IpProtoTcp, TcpNoDelay, ref on, sizeof(int)) != 0 ||
            setsockopt(socket, SolSocket, SoKeepAlive, ref on, sizeof(int)) != 0)
            throw new SocketException((int)ToSocketError(Marshal.GetLastPInvokeError()));
    }

    /// <summary>Whether TCP_NODELAY and SO_KEEPALIVE are both on (a connection accepted from a listening socket that
    /// has them, on Linux).</summary>
    public static bool IsTuned(SafeHandle socket)
    {
        int noDelay = 0, keepAlive = 0, length = sizeof(int);
        if (getsockopt(socket, IpProtoTcp, TcpNoDelay, ref noDelay, ref length) != 0)
            return false;
        length = sizeof(int);
        return getsockopt(socket, SolSocket, SoKeepAlive, ref keepAlive, ref length) == 0 && noDelay != 0 && keepAlive != 0;
    }

    /// <summary>The peer's (<paramref name="peer"/>) or our own address of a connected descriptor; null once it is closed
    /// or when it is not an IP socket.</summary>
    public static System.Net.IPEndPoint? EndPoint(SafeHandle socket, bool peer)
    {
        var address = new System.Net.SocketAddress(AddressFamily.InterNetworkV6); // room for either family
        var length = address.Size;
        int result;
        try
        {
            result = peer
                ? getpeername(socket, ref address.Buffer.Span[0], ref length)
                : getsockname(socket, ref address.Buffer.Span[0], ref length);
        }
        catch (ObjectDisposedException)
        {
            return null;
        }
        if (result != 0)
            return null;
        address.Size = length;
        return address.Family is AddressFamily.InterNetwork or AddressFamily.InterNetworkV6
            ? (System.Net.IPEndPoint)new System.Net.IPEndPoint(System.Net.IPAddress.Any, 0).Create(address)
            : null;
    }

    /// <summary>shutdown(2) of the sending side: the peer reads EOF once what was sent has arrived.</summary>
    public static void ShutdownSend(SafeHandle socket)
    {
        try { shutdown(socket, ShutWrite); }
        catch (ObjectDisposedException) { }
    }

    private static int Outcome(nint result, out SocketError error)
    {
        error = result >= 0 ? SocketError.Success : ToSocketError(Marshal.GetLastPInvokeError());
        return result >= 0 ? (int)result : 0;
    }

    // Linux errno values (the same on x86-64 and arm64).
    private static SocketError ToSocketError(int errno) => errno switch
    {
        EAGAIN => SocketError.WouldBlock,
        9 => SocketError.OperationAborted,       // EBADF
        32 => SocketError.Shutdown,              // EPIPE
        101 => SocketError.NetworkUnreachable,
        103 => SocketError.ConnectionAborted,
        104 => SocketError.ConnectionReset,
        107 => SocketError.NotConnected,
        108 => SocketError.Shutdown,             // ESHUTDOWN
        110 => SocketError.TimedOut,
        111 => SocketError.ConnectionRefused,
        113 => SocketError.HostUnreachable,
        _ => SocketError.SocketError,
    };

    private const int EINTR = 4, EAGAIN = 11;
    private const int GetFlags = 3, SetFlags = 4, NonBlocking = 0x800; // F_GETFL, F_SETFL, O_NONBLOCK
    private const int NoSignal = 0x4000;                               // MSG_NOSIGNAL
    private const int CloseOnExec = 0x80000;                           // SOCK_CLOEXEC
    private const int IpProtoTcp = 6, TcpNoDelay = 1, SolSocket = 1, SoKeepAlive = 9, ShutWrite = 1;

    [DllImport("libc", SetLastError = true)]
    private static extern nint recv(SafeHandle socket, ref byte buffer, nuint length, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint send(SafeHandle socket, ref byte buffer, nuint length, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int accept4(SafeHandle socket, nint address, nint addressLength, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(SafeHandle socket, int command, int argument);

    [DllImport("libc", SetLastError = true)]
    private static extern int setsockopt(SafeHandle socket, int level, int name, ref int value, int length);

    [DllImport("libc", SetLastError = true)]
    private static extern int getsockopt(SafeHandle socket, int level, int name, ref int value, ref int length);

    [DllImport("libc", SetLastError = true)]
    private static extern int getpeername(SafeHandle socket, ref byte address, ref int length);

    [DllImport("libc", SetLastError = true)]
    private static extern int getsockname(SafeHandle socket, ref byte address, ref int length);

    [DllImport("libc", SetLastError = true)]
    private static extern int shutdown(SafeHandle socket, int how);
}
