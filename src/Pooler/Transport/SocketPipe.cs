// A socket as a duplex pipe, for clients (thousands, mostly idle) and servers alike. P.S.U's SocketConnection costs
// two Pipes, two receive/send loops and their event args per socket and four pipe hand-offs per message; here the
// session's reads and writes go straight to the socket (SocketReader, SocketWriter), readiness comes from the epoll
// loop (ReadinessLoop), and an idle socket holds no buffer. An accepted client on a loop has no Socket object at all,
// only its descriptor (SocketDescriptor): 112 bytes and seven syscalls per login less (see SocketCalls.Accept).
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Tuki.Pool.Pooler.Transport;

public sealed class SocketPipe : IDuplexPipe, IDisposable
{
    private readonly SafeHandle _handle;
    private readonly SocketReader _reader;
    private readonly SocketWriter _writer;
    private int _disposed;

    public SocketPipe(Socket socket) : this(socket, useReadinessLoop: true)
    {
    }

    /// <summary>An accepted connection known only by its descriptor: served by a readiness loop without a Socket
    /// object, or, should the loop refuse it, as any socket off the loop, through a Socket made now.</summary>
    internal static SocketPipe FromDescriptor(SocketDescriptor accepted)
    {
        var reader = new SocketReader(accepted, socket: null, useReadinessLoop: true);
        if (reader.OnLoop)
            return new SocketPipe(accepted, reader);
        var socket = accepted.ToSocket();
        try
        {
            return new SocketPipe(socket, useReadinessLoop: false);
        }
        catch
        {
            socket.Dispose(); // the caller's Dispose of the descriptor no longer closes anything
            throw;
        }
    }

    private SocketPipe(SocketDescriptor accepted, SocketReader onLoop)
    {
        _handle = accepted;
        _reader = onLoop;
        _writer = new SocketWriter(accepted, socket: null, onLoop: true);
        _reader.Writer = _writer;
    }

    /// <summary><paramref name="useReadinessLoop"/> false: readiness from zero-byte receives even where epoll is
    /// available (tests run both ways).</summary>
    internal SocketPipe(Socket socket, bool useReadinessLoop)
    {
        Socket = socket;
        _handle = socket.SafeHandle;
        // Non-blocking: Send/Receive return WouldBlock at once instead of waiting, and the waits are asynchronous
        // (the loop's events; without a loop, a zero-byte receive and SendAsync). On the loop the reader sets
        // O_NONBLOCK itself and reads and writes go through SocketCalls, so .NET keeps no async state per socket.
        _reader = new SocketReader(_handle, socket, useReadinessLoop);
        if (!_reader.OnLoop)
            socket.Blocking = false;
        _writer = new SocketWriter(_handle, socket, onLoop: _reader.OnLoop);
        _reader.Writer = _writer;
    }

    /// <summary>The socket object; null for an accepted client on a loop (<see cref="FromDescriptor"/>).</summary>
    public Socket? Socket { get; }

    /// <summary>The peer's address (for logs and the admin console); null once closed.</summary>
    public IPEndPoint? RemoteEndPoint => Address(peer: true);

    /// <summary>Our side's address; null once closed.</summary>
    public IPEndPoint? LocalEndPoint => Address(peer: false);

    private IPEndPoint? Address(bool peer)
    {
        if (Socket is null)
            return SocketCalls.EndPoint(_handle, peer);
        try
        {
            return (peer ? Socket.RemoteEndPoint : Socket.LocalEndPoint) as IPEndPoint;
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            return null;
        }
    }

    /// <summary>Connects <paramref name="socket"/> without any .NET async operation: a non-blocking connect, then
    /// the loop's writable event (only used with <see cref="ReadinessLoop.Enabled"/>).</summary>
    internal static async Task<SocketPipe> ConnectAsync(Socket socket, EndPoint endPoint, CancellationToken cancellationToken)
    {
        socket.Blocking = false; // .NET's Connect then returns at once (a server socket: its async state is no matter)
        var connection = new SocketPipe(socket); // registered from here on
        try
        {
            if (!connection.ReadinessRegistered)
            {
                // The kernel refused the registration (no event would come): .NET's own wait, as without a loop.
                await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
                return connection;
            }
            try
            {
                socket.Connect(endPoint);
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.WouldBlock or SocketError.InProgress)
            {
                await connection._reader.WaitWritableAsync(cancellationToken).ConfigureAwait(false);
            }
            return CheckConnected(socket, connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private static SocketPipe CheckConnected(Socket socket, SocketPipe connection)
    {
        var error = (SocketError)(int)socket.GetSocketOption(SocketOptionLevel.Socket, SocketOptionName.Error)!;
        return error == SocketError.Success ? connection : throw new SocketException((int)error);
    }

    public PipeReader Input => _reader;

    public PipeWriter Output => _writer;

    public long BytesRead => Volatile.Read(ref _reader.BytesRead);

    public long BytesSent => Volatile.Read(ref _writer.BytesSent);

    internal bool HoldsBuffers => _reader.HoldsBuffer || _writer.HoldsBuffer;

    internal bool ReadinessRegistered => _reader.ReadinessRegistered;

    internal bool HangUpSeen => _reader.HangUpSeen;

    /// <summary>Closes the socket: a pending read or flush ends with an IOException.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
            return;
        if (Socket is not null)
            Socket.Dispose();
        else
            _handle.Dispose();
        _reader.OnSocketClosed();
        _writer.OnSocketClosed();
    }
}
