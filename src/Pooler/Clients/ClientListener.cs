// Accepts client sockets and starts a ClientSession for each without awaiting it.
using System.Collections.Concurrent;
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
    private readonly ConcurrentDictionary<ClientSession, Task> _sessions = new();

    public IPEndPoint LocalEndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    public int SessionCount => _sessions.Count;

    /// <summary>The sessions alive right now (admin and metrics read them; shutdown drains them).</summary>
    public ICollection<ClientSession> Sessions => _sessions.Keys;

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
    }

    public async Task AcceptLoopAsync(CancellationToken stoppingToken)
    {
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
                try { await Task.Delay(50, stoppingToken).ConfigureAwait(false); }
                catch (OperationCanceledException) { return; }
                continue;
            }

            SocketPipe connection;
            try
            {
                connection = Connection.FromAccepted(accepted);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
            {
                accepted.Dispose(); // the peer was gone before we could set it up; the accept loop goes on
                continue;
            }
            var session = new ClientSession(connection, context) { Ended = _forget ??= Forget };
            // Registered before it runs, so a session that ends at once still finds itself to remove.
            _sessions[session] = Task.CompletedTask;
            // Started inline: it runs until its first read of the startup packet, then continues on the socket's own
            // completions. A thread-pool hop per login cost a worker wake-up and its idle spinning (in a connect-per-
            // transaction load, a quarter of the pooler's CPU went to thread-pool workers spinning).
            var run = session.RunAsync(); // handles its own errors
            if (!run.IsCompleted)
                _sessions.TryUpdate(session, run, Task.CompletedTask);
        }
    }

    private Action<ClientSession>? _forget;

    private void Forget(ClientSession session) => _sessions.TryRemove(session, out _);

    /// <summary>Stops accepting; open sessions are left to the caller (<see cref="CloseSessionsAsync"/>).</summary>
    public void StopAccepting() => _socket.Dispose();

    /// <summary>Closes every client connection and waits for the sessions to clean their servers up.</summary>
    public async Task CloseSessionsAsync()
    {
        foreach (var session in _sessions.Keys)
            session.Abort();
        await Task.WhenAll(_sessions.Values).ConfigureAwait(false);
    }

    public void Dispose() => _socket.Dispose();
}
