// An accepted socket known only by its file descriptor (see SocketCalls.Accept and SocketPipe). Not a SafeSocketHandle:
// disposed on its own, without a Socket, that one closes abortively (SO_LINGER 0: a reset that throws away the last
// bytes, often a FATAL error the client has not read yet); this one is a plain close(2), and half the size.
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Tuki.Pool.Pooler.Transport;

internal sealed class SocketDescriptor : SafeHandleMinusOneIsInvalid
{
    /// <param name="nonBlocking">O_NONBLOCK is known to be set (accept4 with SOCK_NONBLOCK): no fcntl needed.</param>
    public SocketDescriptor(int fd, bool nonBlocking = false) : base(ownsHandle: true)
    {
        SetHandle(fd);
        NonBlocking = nonBlocking;
    }

    public bool NonBlocking { get; }

    /// <summary>Hands the descriptor to a .NET Socket (a loop refused it): this object no longer owns it.</summary>
    public Socket ToSocket()
    {
        var owner = new SafeSocketHandle(handle, ownsHandle: true);
        try
        {
            var socket = new Socket(owner);
            SetHandleAsInvalid(); // the Socket owns it now
            return socket;
        }
        catch
        {
            owner.SetHandleAsInvalid(); // still ours: closed once, by this object's Dispose
            throw;
        }
    }

    protected override bool ReleaseHandle() => close((int)handle) == 0;

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);
}
