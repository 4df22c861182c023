// What "the peer or its pipe is gone" looks like as an exception, named once for every read/write/flush site.
using System.Net.Sockets;

namespace Tuki.Pool.Pooler.Transport;

public static class ConnectionErrors
{
    /// <summary>True for the exceptions a socket pipe raises once its connection is reset, closed or disposed
    /// (InvalidOperationException: reading or writing a completed pipe). These are normal ends of a connection,
    /// never bugs to log as errors.</summary>
    public static bool IsDisconnect(Exception ex) =>
        ex is IOException or ObjectDisposedException or InvalidOperationException or SocketException;

    /// <summary>What a client socket's reader and writer raise once the connection failed or was closed (an
    /// IOException, so <see cref="IsDisconnect"/> recognises it as P.S.U's pipes did).</summary>
    public static IOException Closed(SocketError error) =>
        new("The client connection was closed: " + error, new SocketException((int)error));

    /// <summary>Marks a reader or writer whose socket we closed ourselves. Most sockets are closed with nobody
    /// reading or writing, so the exception is only built (<see cref="Raise"/>) when someone is: building one costs a
    /// strerror lookup and ~0.5 KB, which was 7 % of what a connect-per-transaction login allocated. Never thrown.</summary>
    internal static readonly Exception ClosedLocally = new IOException("closed locally (marker)");

    /// <summary>The exception to hand out for a stored error: a fresh one for <see cref="ClosedLocally"/>.</summary>
    internal static Exception Raise(Exception error) =>
        ReferenceEquals(error, ClosedLocally) ? Closed(SocketError.OperationAborted) : error;
}
