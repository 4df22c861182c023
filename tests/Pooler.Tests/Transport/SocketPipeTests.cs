// SocketPipe over a real loopback TCP pair (no PostgreSQL): the PipeReader/PipeWriter contract the session relies
// on, and that an idle connection holds no buffer. Run twice: readiness from the epoll loop (Linux) and from zero-byte
// receives (elsewhere, or TUKI_POOL_EPOLL=0).
using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Tuki.Pool.Pooler.Transport;

namespace Tuki.Pool.Pooler.Tests.Transport;

public sealed class EpollSocketPipeTests : SocketPipeTests
{
    protected override bool UseReadinessLoop => true;

    [Fact]
    public void Registered_WhileOpen_SlotGivenBackOnDispose()
    {
        Assert.Equal(ReadinessLoop.Enabled, _client.ReadinessRegistered);
        _client.Dispose();
        Assert.False(_client.ReadinessRegistered);
    }

    [Fact]
    public async Task OnTheLoop_DotNetKeepsNoAsyncStateForTheSocket()
    {
        if (!ReadinessLoop.Enabled)
            return; // not Linux, or TUKI_POOL_EPOLL=0: .NET's own non-blocking mode is used (the other class)
        // SocketCalls reads and writes: .NET was never told the socket is non-blocking, so it built no
        // SocketAsyncContext (≈220 bytes per idle client), and a read with nothing to read still returns at once.
        var read = _client.Input.ReadAsync();
        Assert.False(read.IsCompleted);
        await _peer.SendAsync("ping"u8.ToArray());
        var result = await read.AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        _client.Input.AdvanceTo(result.Buffer.End);
        await _client.Output.WriteAsync("pong"u8.ToArray());
        var echo = new byte[4];
        Assert.Equal(4, await _peer.ReceiveAsync(echo));

        Assert.True(_client.Socket!.Blocking);
        var context = typeof(SafeSocketHandle).GetField("_asyncContext", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance);
        Assert.NotNull(context); // the runtime's field; if it is renamed, this test needs the new name
        Assert.Null(context.GetValue(_client.Socket.SafeHandle));
    }
}

/// <summary>A client accepted on the loop is known by its descriptor only (no Socket object): bytes, addresses, the
/// half-close of Complete and the close of Dispose all go through SocketCalls.</summary>
public sealed class AcceptedDescriptorPipeTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task AcceptedDescriptor_NonBlockingAndTunedFromTheListener_WithoutCallsOfItsOwn()
    {
        if (!ReadinessLoop.Enabled)
            return; // SocketCalls.Accept serves the loop only (Linux)
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        SocketTuning.Apply(listener); // as ClientListener.Start does
        Assert.True(SocketCalls.TrySetNonBlocking(listener.SafeHandle));
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(listener.LocalEndPoint!);
        SocketDescriptor? handle = null;
        for (var i = 0; i < 100 && handle is null; i++)
        {
            handle = SocketCalls.Accept(listener.SafeHandle, out _);
            if (handle is null)
                await Task.Delay(10);
        }
        using var accepted = Assert.IsType<SocketDescriptor>(handle);

        // TCP_NODELAY and SO_KEEPALIVE copied by the kernel; a read with nothing there returns at once (no fcntl made).
        Assert.True(SocketCalls.IsTuned(accepted));
        Assert.Equal(0, SocketCalls.Receive(accepted, null, viaLibc: true, new byte[1], 0, 1, out var error));
        Assert.Equal(SocketError.WouldBlock, error);
    }

    [Fact]
    public async Task AcceptedDescriptor_CarriesBytes_ReportsAddresses_AndClosesBothWays()
    {
        if (!ReadinessLoop.Enabled)
            return; // the descriptor-only pipe exists only on a loop
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        Assert.True(SocketCalls.TrySetNonBlocking(listener.SafeHandle));
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(listener.LocalEndPoint!);
        SocketDescriptor? handle = null;
        for (var i = 0; i < 100 && handle is null; i++)
        {
            handle = SocketCalls.Accept(listener.SafeHandle, out var error);
            if (handle is null)
            {
                Assert.Equal(SocketError.WouldBlock, error);
                await Task.Delay(10);
            }
        }
        Assert.NotNull(handle);
        using var pipe = Connection.FromAccepted(handle);

        Assert.Null(pipe.Socket);
        Assert.True(pipe.ReadinessRegistered);
        Assert.Equal(peer.LocalEndPoint, pipe.RemoteEndPoint);
        Assert.Equal(peer.RemoteEndPoint, pipe.LocalEndPoint);

        await peer.SendAsync("ping"u8.ToArray());
        var read = await pipe.Input.ReadAsync().AsTask().WaitAsync(Limit);
        Assert.Equal("ping"u8.ToArray(), read.Buffer.ToArray());
        pipe.Input.AdvanceTo(read.Buffer.End);

        await pipe.Output.WriteAsync("pong"u8.ToArray());
        await pipe.Output.CompleteAsync(); // half-close: the peer reads the bytes, then EOF
        var received = new byte[8];
        var total = 0;
        int n;
        while ((n = await peer.ReceiveAsync(received.AsMemory(total)).AsTask().WaitAsync(Limit)) > 0)
            total += n;
        Assert.Equal("pong"u8.ToArray(), received[..total]);

        await peer.SendAsync("more"u8.ToArray()); // our receive side is still open
        read = await pipe.Input.ReadAsync().AsTask().WaitAsync(Limit);
        Assert.Equal("more"u8.ToArray(), read.Buffer.ToArray());
        pipe.Input.AdvanceTo(read.Buffer.End);

        pipe.Dispose();
        Assert.True(handle.IsClosed);
        Assert.False(pipe.ReadinessRegistered);
        Assert.Null(pipe.RemoteEndPoint);
    }
}

public sealed class AcceptedDescriptorCloseTests
{
    [Fact]
    public async Task Dispose_ClosesGracefully_ThePeerStillReadsTheLastBytes()
    {
        if (!ReadinessLoop.Enabled)
            return;
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await peer.ConnectAsync(listener.LocalEndPoint!);
        using var accepted = await listener.AcceptAsync();
        // The descriptor alone, as the loop's accept gives it (a dup: the Socket above keeps its own).
        var pipe = Connection.FromAccepted(new SocketDescriptor(Dup(accepted)));
        accepted.Close();

        await pipe.Output.WriteAsync("FATAL"u8.ToArray()); // sent, then closed: no reset may throw it away
        await Task.Delay(50);
        pipe.Dispose();

        var received = new byte[16];
        var total = 0;
        int n;
        while ((n = await peer.ReceiveAsync(received.AsMemory(total)).AsTask().WaitAsync(TimeSpan.FromSeconds(10))) > 0)
            total += n;
        Assert.Equal("FATAL"u8.ToArray(), received[..total]);
    }

    private static int Dup(Socket socket) => dup((int)socket.SafeHandle.DangerousGetHandle());

    [System.Runtime.InteropServices.DllImport("libc")]
    private static extern int dup(int fd);
}

public sealed class SocketPipeConnectTests
{
    [Fact]
    public async Task ConnectAsync_ThroughTheLoop_ConnectsAndCarriesBytes()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var accept = listener.AcceptAsync();
        using var client = await Connection.ConnectAsync("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port, CancellationToken.None)
            .WaitAsync(TimeSpan.FromSeconds(10));
        using var peer = await accept;
        await peer.SendAsync("hi"u8.ToArray());
        var result = await client.Input.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal("hi"u8.ToArray(), result.Buffer.ToArray());
        Assert.Equal(ReadinessLoop.Enabled, client.ReadinessRegistered);
    }

    [Fact]
    public async Task ConnectAsync_FreshConnections_DoNotLookHungUp()
    {
        // A socket registered before its connect polls as OUT|HUP: that must not read as the peer's FIN (it would make
        // every later read of the connection go on to EAGAIN, an extra recv per server reply).
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(64);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        for (var i = 0; i < 50; i++)
        {
            var accept = listener.AcceptAsync();
            using var client = await Connection.ConnectAsync("127.0.0.1", port, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10));
            using var peer = await accept;
            await Task.Delay(2); // the loop's first events are in
            Assert.False(client.HangUpSeen, $"connection {i}");
        }
    }

    [Fact]
    public async Task ConnectAsync_NobodyListens_FailsWithTheSocketError()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)probe.LocalEndPoint!).Port; // bound, not listening: the connect is refused
        var error = await Assert.ThrowsAsync<SocketException>(() =>
            Connection.ConnectAsync("127.0.0.1", port, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(SocketError.ConnectionRefused, error.SocketErrorCode);
    }
}

public sealed class ZeroByteReceiveSocketPipeTests : SocketPipeTests
{
    protected override bool UseReadinessLoop => false;
}

public abstract class SocketPipeTests : IAsyncLifetime
{
    protected abstract bool UseReadinessLoop { get; }
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);
    protected Socket _peer = null!;
    protected SocketPipe _client = null!;

    public async Task InitializeAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        _peer = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        var accept = listener.AcceptAsync();
        await _peer.ConnectAsync(listener.LocalEndPoint!);
        _client = new SocketPipe(await accept, UseReadinessLoop);
    }

    public Task DisposeAsync()
    {
        _client.Dispose();
        _peer.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Read_WaitsForBytes_ThenReleasesTheBufferOnceConsumed()
    {
        var read = _client.Input.ReadAsync();
        Assert.False(read.IsCompleted);
        Assert.False(_client.HoldsBuffers); // waiting costs no buffer

        await _peer.SendAsync("hello"u8.ToArray());
        var result = await read.AsTask().WaitAsync(Limit);
        Assert.Equal("hello"u8.ToArray(), result.Buffer.ToArray());
        _client.Input.AdvanceTo(result.Buffer.End);

        Assert.False(_client.HoldsBuffers);
        Assert.Equal(5, _client.BytesRead);
    }

    [Fact]
    public async Task Read_BytesThatArrivedBeforeTheFirstRead_AreSeen()
    {
        await _peer.SendAsync("early"u8.ToArray());
        await Task.Delay(50); // in the kernel's buffer before anyone waits
        var result = await _client.Input.ReadAsync().AsTask().WaitAsync(Limit);
        Assert.Equal("early"u8.ToArray(), result.Buffer.ToArray());
    }

    [Fact]
    public async Task TryRead_BytesThatArrivedWhileNoReadWaited_AreSeen()
    {
        // The pool's usability check of an idle server: a FATAL it sent meanwhile must be noticed without a read.
        Assert.False(_client.Input.TryRead(out _));
        await _peer.SendAsync("E"u8.ToArray());
        var deadline = DateTime.UtcNow + Limit;
        ReadResult result;
        while (!_client.Input.TryRead(out result))
        {
            Assert.True(DateTime.UtcNow < deadline, "never seen");
            await Task.Delay(5);
        }
        Assert.Equal("E"u8.ToArray(), result.Buffer.ToArray());
    }

    [Fact]
    public async Task Read_PingPong_EveryArrivalWakesTheReader()
    {
        // Each message arrives while the reader waits: none may be missed (edge-triggered readiness).
        for (var i = 0; i < 200; i++)
        {
            var read = _client.Input.ReadAsync();
            await _peer.SendAsync(new[] { (byte)i });
            var result = await read.AsTask().WaitAsync(Limit);
            Assert.Equal(new[] { (byte)i }, result.Buffer.ToArray());
            _client.Input.AdvanceTo(result.Buffer.End);
            _client.Output.Write(new[] { (byte)i });
            await _client.Output.FlushAsync();
            var echo = new byte[1];
            Assert.Equal(1, await _peer.ReceiveAsync(echo).WaitAsync(Limit));
        }
        Assert.False(_client.HoldsBuffers);
    }

    [Fact]
    public async Task Read_ExaminedButNotConsumed_WaitsForMoreAndKeepsTheRest()
    {
        await _peer.SendAsync("ab"u8.ToArray());
        var first = await _client.Input.ReadAsync().AsTask().WaitAsync(Limit);
        _client.Input.AdvanceTo(first.Buffer.GetPosition(1), first.Buffer.End); // "a" consumed, "b" looked at

        var second = _client.Input.ReadAsync();
        Assert.False(second.IsCompleted);
        await _peer.SendAsync("c"u8.ToArray());
        var result = await second.AsTask().WaitAsync(Limit);
        Assert.Equal("bc"u8.ToArray(), result.Buffer.ToArray());
    }

    [Fact]
    public async Task CancelPendingRead_EndsTheWait_NextReadStillGetsTheBytes()
    {
        var read = _client.Input.ReadAsync();
        _client.Input.CancelPendingRead();
        var canceled = await read.AsTask().WaitAsync(Limit);
        Assert.True(canceled.IsCanceled);
        _client.Input.AdvanceTo(canceled.Buffer.Start);

        await _peer.SendAsync("x"u8.ToArray());
        var result = await _client.Input.ReadAsync().AsTask().WaitAsync(Limit);
        Assert.False(result.IsCanceled);
        Assert.Equal("x"u8.ToArray(), result.Buffer.ToArray());
    }

    [Fact]
    public async Task CancelPendingRead_BeforeTheRead_MakesTheNextReadCanceled()
    {
        _client.Input.CancelPendingRead();
        var result = await _client.Input.ReadAsync().AsTask().WaitAsync(Limit);
        Assert.True(result.IsCanceled);
    }

    [Fact]
    public async Task Read_WithToken_CancelledWhileWaiting_Throws()
    {
        using var cts = new CancellationTokenSource();
        var read = _client.Input.ReadAsync(cts.Token).AsTask();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.WaitAsync(Limit));
    }

    [Fact]
    public async Task Read_PeerCloses_Completes()
    {
        await _peer.SendAsync("bye"u8.ToArray());
        _peer.Shutdown(SocketShutdown.Send);
        var result = await _client.Input.ReadAsync().AsTask().WaitAsync(Limit);
        while (!result.IsCompleted)
        {
            _client.Input.AdvanceTo(result.Buffer.Start, result.Buffer.End);
            result = await _client.Input.ReadAsync().AsTask().WaitAsync(Limit);
        }
        Assert.Equal("bye"u8.ToArray(), result.Buffer.ToArray());
    }

    [Fact]
    public async Task Read_LocalDispose_FailsThePendingRead()
    {
        var read = _client.Input.ReadAsync().AsTask();
        _client.Dispose();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => read.WaitAsync(Limit));
        Assert.True(ConnectionErrors.IsDisconnect(error), error.ToString());
    }

    [Fact]
    public async Task ReadAndFlush_AfterLocalDispose_EachFailWithTheirOwnDisconnectError()
    {
        _client.Dispose();
        var read = await Assert.ThrowsAnyAsync<Exception>(async () => await _client.Input.ReadAsync());
        _client.Output.Write("x"u8);
        var flush = await Assert.ThrowsAnyAsync<Exception>(async () => await _client.Output.FlushAsync());
        Assert.True(ConnectionErrors.IsDisconnect(read), read.ToString());
        Assert.True(ConnectionErrors.IsDisconnect(flush), flush.ToString());
        // The closed-locally marker is never handed out (it would be thrown from several threads at once).
        Assert.NotSame(ConnectionErrors.ClosedLocally, read);
        Assert.NotSame(ConnectionErrors.ClosedLocally, flush);
        Assert.NotSame(read, flush);
    }

    [Fact]
    public async Task Flush_SendsAtOnce_AndHoldsNoBuffer()
    {
        _client.Output.Write("ping"u8);
        var flush = await _client.Output.FlushAsync().AsTask().WaitAsync(Limit);
        Assert.False(flush.IsCanceled);
        Assert.False(_client.HoldsBuffers);

        var received = new byte[4];
        Assert.Equal(4, await _peer.ReceiveAsync(received));
        Assert.Equal("ping"u8.ToArray(), received);
    }

    [Fact]
    public async Task Flush_PeerNotReading_WaitsThenCancelsWithoutLosingBytes()
    {
        // Fill the kernel's buffers until a flush has to wait: the backpressure the pump relies on.
        var chunk = new byte[256 * 1024];
        long written = 0;
        ValueTask<FlushResult> flush = default;
        for (var i = 0; i < 1000; i++)
        {
            chunk.AsSpan().Fill((byte)i);
            _client.Output.Write(chunk);
            written += chunk.Length;
            flush = _client.Output.FlushAsync();
            if (!flush.IsCompleted)
                break;
        }
        Assert.False(flush.IsCompleted);

        _client.Output.CancelPendingFlush();
        Assert.True((await flush.AsTask().WaitAsync(Limit)).IsCanceled);

        // Written after the cancelled flush: goes out after the rest, in order.
        _client.Output.Write("end"u8);
        var last = _client.Output.FlushAsync().AsTask();
        var total = 0L;
        var buffer = new byte[64 * 1024];
        var tail = new List<byte>();
        while (total < written + 3)
        {
            var n = await _peer.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Limit);
            Assert.True(n > 0);
            total += n;
            tail.AddRange(buffer.AsSpan(0, n).ToArray());
            if (tail.Count > 16) tail.RemoveRange(0, tail.Count - 16);
        }
        await last.WaitAsync(Limit);
        Assert.Equal(written + 3, total);
        Assert.Equal("end"u8.ToArray(), tail.Skip(tail.Count - 3).ToArray());
        Assert.False(_client.HoldsBuffers);
        Assert.Equal(written + 3, _client.BytesSent);
    }

    [Fact]
    public async Task Complete_WithASendInFlight_DeliversEverythingThenCloses()
    {
        var written = await FillUntilFlushWaitsAsync();
        _client.Output.Write("bye"u8);
        _client.Output.Complete(); // the FIN waits for the send in flight

        var total = 0L;
        var buffer = new byte[64 * 1024];
        var last = Array.Empty<byte>();
        while (true)
        {
            var n = await _peer.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Limit);
            if (n == 0)
                break; // FIN
            total += n;
            last = buffer.AsSpan(Math.Max(0, n - 3), Math.Min(3, n)).ToArray();
        }
        Assert.Equal(written + 3, total);
        Assert.Equal("bye"u8.ToArray(), last);
    }

    /// <summary>Writes until a flush has to wait for the peer, cancels that wait, returns the bytes written.</summary>
    private async Task<long> FillUntilFlushWaitsAsync()
    {
        var chunk = new byte[256 * 1024];
        long written = 0;
        for (var i = 0; i < 1000; i++)
        {
            _client.Output.Write(chunk);
            written += chunk.Length;
            var flush = _client.Output.FlushAsync();
            if (flush.IsCompleted)
                continue;
            _client.Output.CancelPendingFlush();
            Assert.True((await flush.AsTask().WaitAsync(Limit)).IsCanceled);
            return written;
        }
        throw new InvalidOperationException("the peer's buffers never filled");
    }

    [Fact]
    public async Task Flush_WaitingForRoom_LocalDisposeFailsIt()
    {
        var chunk = new byte[256 * 1024];
        Task<FlushResult>? waiting = null;
        for (var i = 0; i < 1000 && waiting is null; i++)
        {
            _client.Output.Write(chunk);
            var flush = _client.Output.FlushAsync();
            if (!flush.IsCompleted)
                waiting = flush.AsTask();
        }
        Assert.NotNull(waiting);
        _client.Dispose();
        var error = await Assert.ThrowsAnyAsync<Exception>(() => waiting!.WaitAsync(Limit));
        Assert.True(ConnectionErrors.IsDisconnect(error), error.ToString());
    }

    [Fact]
    public async Task Flush_WaitingWithAToken_TokenCancelledEndsTheWait()
    {
        // Through TLS the session's CancelPendingFlush reaches the socket writer as a cancelled token.
        using var cts = new CancellationTokenSource();
        var chunk = new byte[256 * 1024];
        Task<FlushResult>? waiting = null;
        for (var i = 0; i < 1000 && waiting is null; i++)
        {
            _client.Output.Write(chunk);
            var flush = _client.Output.FlushAsync(cts.Token);
            if (!flush.IsCompleted)
                waiting = flush.AsTask();
        }
        Assert.NotNull(waiting);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting!.WaitAsync(Limit));
    }
}
