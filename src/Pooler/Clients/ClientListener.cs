// Accepts client sockets and starts a ClientSession for each without awaiting it.
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Transport;

namespace Tuki.Pool.Pooler.Clients;

public sealed class ClientListener(IPEndPoint endpoint, ClientContext context, bool reusePort = false) : IDisposable
{
    // Login storms (hundreds of serverless instances starting at once) need a deep accept queue; the kernel
    // caps it at net.core.somaxconn.
    private const int Backlog = 4096;

    private readonly Socket _socket = new(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);

    // The live sessions, linked through the sessions themselves: a dictionary node and bucket per client cost each
    // of thousands of idle clients ≈56 bytes, the two links 16. Guarded by _sessionsSync.
    private readonly Lock _sessionsSync = new();
    private ClientSession? _first;
    private int _sessionCount;
    private TaskCompletionSource? _allEnded; // CloseSessionsAsync waits for the count to reach zero

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public int SessionCount => Volatile.Read(ref _sessionCount);

    /// <summary>A snapshot of the sessions alive right now (admin and metrics read them; shutdown drains them).</summary>
    public IReadOnlyList<ClientSession> Sessions
    {
        get
        {
            lock (_sessionsSync)
            {
                var sessions = new ClientSession[_sessionCount];
                var i = 0;
                for (var session = _first; session is not null; session = session.NextInListener)
                    sessions[i++] = session;
                return sessions;
            }
        }
    }

    // SO_REUSEPORT (Linux: SOL_SOCKET 1, option 15): .NET has no named constant for it.
    private const int SolSocket = 1;
    private const int SoReusePort = 15;

    public void Start()
    {
        _socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        if (reusePort && OperatingSystem.IsLinux())
            _socket.SetRawSocketOption(SolSocket, SoReusePort, BitConverter.GetBytes(1)); // a new process may bind too
        _socket.Bind(endpoint);
        _socket.Listen(Backlog);
        SocketTuning.Apply(_socket); // Linux copies these to every connection accepted from it (FromAcceptedOnLoop)
    }

    // Whether connections accepted on the loop carry the listener's TCP_NODELAY and SO_KEEPALIVE: 0 not known yet,
    // 1 they do, -1 they do not (each is then set per connection). Guarded by _acceptSync.
    private int _tuningInherited;

    /// <summary>A connection accepted on the loop as a pipe, its socket options set only when the listener's were not
    /// copied to it: the first connection is checked, not assumed to have them, and then the two setsockopt calls per
    /// login are skipped for good (Linux copies both from the listening socket).</summary>
    private SocketPipe FromAcceptedOnLoop(SocketDescriptor accepted)
    {
        if (_tuningInherited == 0)
            _tuningInherited = SocketCalls.IsTuned(accepted) ? 1 : -1;
        return Connection.FromAccepted(accepted, tune: _tuningInherited < 0);
    }

    /// <summary>Accepts until <paramref name="stoppingToken"/> fires or <see cref="StopAccepting"/> is called. With
    /// the epoll loop, accepts run on one of its threads (see <see cref="AcceptOnLoop"/>); otherwise, or when the
    /// kernel refuses the registration, through .NET's AcceptAsync.</summary>
    public async Task AcceptLoopAsync(CancellationToken stoppingToken)
    {
        if (StartAcceptingOnLoop())
        {
            using (stoppingToken.UnsafeRegister(static state => ((ClientListener)state!).StopAcceptingOnLoop(), this))
            {
                if (await _loopAccepting.Task.ConfigureAwait(false))
                    return; // stopped
            }
            if (stoppingToken.IsCancellationRequested)
                return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException ex) when (stoppingToken.IsCancellationRequested || ex.SocketErrorCode == SocketError.OperationAborted)
            {
                return; // the listening socket was closed to stop accepting (drain, shutdown)
            }
            catch (SocketException ex)
            {
                // EMFILE and friends: log, breathe, keep serving the clients we have.
                context.Logger.LogWarning("Accept failed: {Error}", ex.SocketErrorCode);
                try { await Task.Delay(AcceptRetryDelay, stoppingToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                continue;
            }
            if (Register(accepted, Connection.FromAccepted) is { } session)
                Run(session);
        }
    }

    // After an accept error that is not the peer's (EMFILE, ENFILE, ENOBUFS): a pause, not a spin.
    private static readonly TimeSpan AcceptRetryDelay = TimeSpan.FromMilliseconds(50);

    // ---- Accepting on an epoll loop ----
    // A login used to cost a wake-up of .NET's socket thread and a thread-pool hop before its first read (7 context
    // switches per connect-and-query against PgBouncer's 3.7). Now the listening socket sits on the readiness loop,
    // edge-triggered and non-blocking: each event accepts what waits and starts each session right there.
    private readonly Lock _acceptSync = new();                   // an accept in progress vs. stopping
    private ReadinessLoop.Acceptor? _acceptor;                   // non-null while accepting on a loop
    private ReadinessLoop? _acceptLoop;
    private readonly TaskCompletionSource<bool> _loopAccepting = new(TaskCreationOptions.RunContinuationsAsynchronously); // true: stopped; false: fall back

    private bool StartAcceptingOnLoop()
    {
        if (!ReadinessLoop.Enabled)
            return false;
        // Non-blocking without telling .NET (see SocketCalls.Accept): accept4 then says EAGAIN instead of stopping the
        // loop's thread.
        if (!SocketCalls.TrySetNonBlocking(_socket.SafeHandle))
            return false;
        var acceptor = new ReadinessLoop.Acceptor(AcceptOnLoop);
        lock (_acceptSync)
        {
            if (!ReadinessLoop.TryRegisterListener(_socket, acceptor, out _acceptLoop))
                return false; // AcceptAsync takes over: .NET's own wait copes with a non-blocking descriptor
            _acceptor = acceptor;
        }
        return true;
    }

    // Connections taken per listener event before the loop serves other sockets' events; a full batch re-arms the
    // listener, so a storm is taken in turns with the logins it starts.
    private const int AcceptBatch = 16;

    /// <summary>On a loop thread: the connections waiting in the backlog. Edge-triggered: until accept4 says EAGAIN,
    /// or <see cref="AcceptBatch"/> of them and a re-arm.</summary>
    private void AcceptOnLoop()
    {
        for (var taken = 0; taken < AcceptBatch; taken++)
            if (!AcceptOneOnLoop())
                return;
        lock (_acceptSync)
            if (_acceptor is { } acceptor)
                _acceptLoop!.Rearm(_socket, acceptor);
    }

    /// <summary>One connection from the backlog, its session started; false when the backlog is empty or accepting
    /// stopped.</summary>
    private bool AcceptOneOnLoop()
    {
        ClientSession? session;
        lock (_acceptSync)
        {
            if (_acceptor is null)
                return false; // stopped meanwhile
            SocketDescriptor? accepted;
            SocketError error;
            try
            {
                accepted = SocketCalls.Accept(_socket.SafeHandle, out error);
            }
            catch (ObjectDisposedException)
            {
                return false; // the listener closed
            }
            if (accepted is null)
            {
                if (error is SocketError.ConnectionAborted or SocketError.ConnectionReset or SocketError.Interrupted)
                    return true; // that one was gone before we took it: the next may be there
                if (error is SocketError.WouldBlock or SocketError.OperationAborted)
                    return false; // drained (or taken by another thread), or the listener closed
                // EMFILE and friends: the connection stays in the backlog and would fire again. Off the loop for a pause.
                context.Logger.LogWarning("Accept failed: {Error}", error);
                _acceptLoop!.RemoveListener(_socket, _acceptor);
                _ = ResumeAcceptingAsync();
                return false;
            }
            session = Register(accepted, FromAcceptedOnLoop);
        }
        if (session is not null)
            Run(session);
        return true;
    }

    private async Task ResumeAcceptingAsync()
    {
        await Task.Delay(AcceptRetryDelay).ConfigureAwait(false);
        lock (_acceptSync)
        {
            if (_acceptor is not { } acceptor)
                return; // stopped during the pause
            if (ReadinessLoop.TryRegisterListener(_socket, acceptor, out _acceptLoop))
                return;
            _acceptor = null;
        }
        _loopAccepting.TrySetResult(false); // refused now: AcceptAsync takes over
    }

    private void StopAcceptingOnLoop()
    {
        lock (_acceptSync)
        {
            if (_acceptor is null)
                return;
            _acceptLoop!.RemoveListener(_socket, _acceptor);
            _acceptor = null;
        }
        _loopAccepting.TrySetResult(true);
    }

    // ---- Sessions ----

    /// <summary>Wraps an accepted socket and records its session before it runs, so a session that ends at once still
    /// finds itself to remove. Null when the peer was gone before the socket could be set up.</summary>
    private ClientSession? Register<T>(T accepted, Func<T, SocketPipe> wrap) where T : IDisposable
    {
        SocketPipe connection;
        try
        {
            connection = wrap(accepted);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            accepted.Dispose();
            return null;
        }
        var session = new ClientSession(connection, context) { Ended = _forget ??= Forget };
        lock (_sessionsSync)
        {
            session.NextInListener = _first;
            if (_first is not null)
                _first.PreviousInListener = session;
            _first = session;
            _sessionCount++;
        }
        return session;
    }

    /// <summary>Starts a session inline: it runs until its first read that must wait, then continues on its socket's
    /// own completions. A thread-pool hop per login cost a worker wake-up and its idle spinning (in a
    /// connect-per-transaction load, a quarter of the pooler's CPU went to thread-pool workers spinning).</summary>
    private static void Run(ClientSession session) => _ = session.RunAsync(); // handles its own errors; Ended ends it here

    private Action<ClientSession>? _forget;

    private void Forget(ClientSession session)
    {
        TaskCompletionSource? allEnded = null;
        lock (_sessionsSync)
        {
            if (session.PreviousInListener is { } previous)
                previous.NextInListener = session.NextInListener;
            else if (_first == session)
                _first = session.NextInListener;
            else
                return; // not listed (never, but a second call must not unlink anything else)
            if (session.NextInListener is { } next)
                next.PreviousInListener = session.PreviousInListener;
            session.PreviousInListener = session.NextInListener = null;
            if (--_sessionCount == 0)
                (allEnded, _allEnded) = (_allEnded, null);
        }
        allEnded?.TrySetResult();
    }

    /// <summary>Stops accepting; open sessions are left to the caller (<see cref="CloseSessionsAsync"/>).</summary>
    public void StopAccepting()
    {
        StopAcceptingOnLoop();
        _socket.Dispose();
    }

    /// <summary>Closes every client connection and waits for the sessions to clean their servers up.</summary>
    public async Task CloseSessionsAsync()
    {
        Task allEnded;
        lock (_sessionsSync)
        {
            if (_sessionCount == 0)
                return;
            allEnded = (_allEnded ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;
        }
        foreach (var session in Sessions)
            session.Abort();
        await allEnded.ConfigureAwait(false);
    }

    public void Dispose() => StopAccepting();
}
