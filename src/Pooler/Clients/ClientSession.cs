// One client connection: startup → auth → transaction loop → close. The pieces live in partial files by concern:
// Login (startup, auth, welcome), Forwarding (client → server), ServerPump (server → client), Release (a client
// that leaves while bound), Parameters (per-client session settings), SessionState (SET tracking, pinning, modes),
// Statements (named prepared statements across servers), Cancel.
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Concurrency;
using Tuki.Pool.Pooler.Pooling;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Pooler.Servers;
using Tuki.Pool.Pooler.Transport;

namespace Tuki.Pool.Pooler.Clients;

public sealed partial class ClientSession
{
    private readonly SocketPipe _connection;
    private readonly ClientContext _context;
    private PipeReader _input;     // the socket's pipe, or the decrypted one after a TLS handshake (Login)
    private PipeWriter _output;

    // Identity, set at login.
    private string _user = "";
    private string _database = "";
    private ServerPool? _pool;
    private int _processId;

    // Binding state: which server this client holds and what it still owes. Guarded by the session's LeanLock
    // (Lock()); the client loop and the server pump are the two threads that meet here. One int field: a Lock object
    // would cost each of thousands of idle clients 40 bytes, and Monitor a call into the runtime per enter and exit.
    private int _lock;

    private LeanLock.Held Lock() => LeanLock.Enter(ref _lock, this);

    private ServerConnection? _server;
    private int _pendingReplies;   // Query/Sync/FunctionCall sent whose ReadyForQuery has not come back yet
    private bool _unsynced;        // extended-protocol messages sent since the last Sync
    private int _swallow;          // replies (up to their ReadyForQuery) to the pooler's own queries, to drop
    private byte _transactionStatus = TransactionStatus.Idle;
    private bool _copyIn;          // the server is in COPY FROM STDIN, waiting for client data
    private bool _clientGone;
    private bool _serverLost;
    private ValueTask _pump;       // the current binding's server pump (TakePump)

    public ClientSession(SocketPipe connection, ClientContext context)
    {
        _connection = connection;
        _context = context;
        _input = connection.Input;
        _output = connection.Output;
    }

    /// <summary>Turns off ExecutionContext flow on this thread, so the session's next await captures none. A login
    /// resumes on thread-pool threads, whose (default) context the state machine would capture at its next await
    /// and then install around every resumption after it, on the loop too (ExecutionContext.RunInternal on half of
    /// the loop's stacks, bench/RESULTS.md), each resumption capturing it again. Sessions use no AsyncLocal. Called at
    /// the top of the client loop and the server pump: once the flow is off, the look is a thread-static read. On a
    /// thread-pool thread the suppression lasts until that work item ends (the pool resets the context).</summary>
    private static void StopContextFlow()
    {
        if (!ExecutionContext.IsFlowSuppressed())
            ExecutionContext.SuppressFlow();
    }

    public string User => _user;
    public string Database => _database;

    public async Task RunAsync()
    {
        var admitted = _context.AdmitClient();
        var failed = false;
        var saidGoodbye = false; // the client ended with Terminate
        PgError? fatal = null;
        try
        {
            try
            {
                if (!await LoginAsync(admitted).ConfigureAwait(false))
                    return;
                if (_isAdmin)
                {
                    await RunAdminAsync().ConfigureAwait(false);
                    return;
                }
                // The client loop (see Forwarding) runs in this method's own state machine rather than in a method it
                // awaits: an idle client then holds one async box instead of two (≈180 B less for each of thousands).
                ClientExit? exit = null;
                while (exit is null)
                {
                    StopContextFlow();
                    var result = await _input.ReadAsync().ConfigureAwait(false);
                    var buffer = result.Buffer;
                    var (canceled, completed) = (result.IsCanceled, result.IsCompleted); // not the whole result: it would live in the box
                    PipeWriter? flushTarget = null;
                    ForwardStep step;
                    try
                    {
                        while ((step = ForwardFrames(ref buffer, ref flushTarget)) is ForwardStep.NeedServer or ForwardStep.WaitForReplies or ForwardStep.AnswerLocally)
                        {
                            if (Volatile.Read(ref _serverLost))
                            {
                                step = ForwardStep.ServerLost;
                                break;
                            }
                            if (step == ForwardStep.NeedServer)
                            {
                                // Here rather than in an async method of its own: this state machine holds the awaits,
                                // so waiting for a server allocates nothing. The previous binding's pump may still be
                                // flushing its last ReadyForQuery to the client.
                                await TakePump().ConfigureAwait(false);
                                await BeginWaitingAsync().ConfigureAwait(false);
                                IPooledConnection rented;
                                try
                                {
                                    rented = await _pool!.RentAsync().ConfigureAwait(false); // shutdown ends the wait via AbandonWaiters
                                }
                                catch (Exception ex) when (RentError(ex) is { } error)
                                {
                                    throw new PgErrorException(error);
                                }
                                BindServer((ServerConnection)rented);
                            }
                            else if (step == ForwardStep.AnswerLocally)
                                await AnswerLocallyAsync().ConfigureAwait(false);
                            else
                            {
                                // The Parse we wait for may still sit in our unflushed output.
                                if (flushTarget is not null)
                                    await FlushServerAsync(flushTarget).ConfigureAwait(false);
                                flushTarget = null;
                                await WaitForRepliesAsync().ConfigureAwait(false);
                            }
                        }
                    }
                    finally
                    {
                        _input.AdvanceTo(buffer.Start, buffer.End);
                    }

                    if (flushTarget is not null && step != ForwardStep.ServerLost)
                        await FlushServerAsync(flushTarget).ConfigureAwait(false);
                    exit = ExitAfter(step, canceled, completed);
                }
                await ExitAsync(exit.Value).ConfigureAwait(false);
                saidGoodbye = exit == ClientExit.Terminate;
            }
            catch (PgErrorException ex)
            {
                failed = true;
                fatal = ex.Error;
            }
            catch (ProtocolViolationException ex)
            {
                _context.Logger.LogInformation("Client {Client} sent invalid data: {Problem}", _connection.RemoteEndPoint, ex.Message);
                failed = true;
                fatal = PgErrors.ProtocolViolation(ex.Message);
            }
            catch (Exception ex) when (ex is IOException or ObjectDisposedException or OperationCanceledException or System.Net.Sockets.SocketException)
            {
                failed = true;
            }
            catch (Exception ex)
            {
                _context.Logger.LogError(ex, "Client session {Client} failed", _connection.RemoteEndPoint);
                failed = true;
            }
            // Outside the catch blocks: an await there would keep the exception in the state machine's box, which
            // every idle client holds.
            if (failed)
            {
                // Finish with the server first: after that nothing else writes to the client.
                await ExitAsync(ClientExit.Gone).ConfigureAwait(false);
                if (fatal is not null)
                    await SendFatalAsync(fatal).ConfigureAwait(false);
            }
        }
        catch (Exception ex)
        {
            // Nobody awaits a session (the listener only counts it): a failure while leaving is logged here.
            _context.Logger.LogError(ex, "Client session {Client} failed while leaving", _connection.RemoteEndPoint);
        }
        finally
        {
            try
            {
                ReportBytes();
                LogDisconnect();
                if (_processId != 0)
                    _context.CancelKeys.Unregister(_processId);
                if (_pinned)
                    _pool!.Unpin();
                if (_userCounted)
                    _context.Logins.ReleaseUser(_user);
                _context.ReleaseClient();
                await CloseAsync(saidGoodbye).ConfigureAwait(false);
            }
            catch (Exception ex)
            {
                _context.Logger.LogError(ex, "Client session {Client} failed to clean up", _connection.RemoteEndPoint);
                _connection.Dispose();
            }
            finally
            {
                Ended?.Invoke(this); // always: shutdown waits for every session to have ended
            }
        }
    }

    /// <summary>Called once the session is over and its socket closed (the listener forgets it).</summary>
    internal Action<ClientSession>? Ended { get; init; }

    // The listener's list of live sessions runs through them (see ClientListener); guarded by the listener.
    internal ClientSession? PreviousInListener, NextInListener;

    // Bounded wait for the client to hang up after our last message, so that message is not cut off by a reset.
    private static readonly TimeSpan CloseLinger = TimeSpan.FromSeconds(1);

    /// <summary>Completes our side so the last bytes (often a FATAL error) are sent, waits briefly for the client to
    /// close its side, then releases the socket. After the client's Terminate with nothing of ours left to send, the
    /// socket is simply closed, as PostgreSQL and PgBouncer do: there is no last message to protect from a reset, and
    /// a client that said goodbye need not be waited for (no shutdown, no read of its FIN, no linger timer).</summary>
    [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask CloseAsync(bool saidGoodbye)
    {
        if (saidGoodbye && _output == _connection.Output && !_connection.HoldsBuffers)
        {
            _connection.Dispose();
            return;
        }
        try
        {
            await _output.CompleteAsync().ConfigureAwait(false);
            if (_output != _connection.Output)
                _connection.Output.Complete(); // TLS: completing the TLS writer leaves the socket open; send the FIN
            // Most clients hang up right after their Terminate: their FIN is already here, and no timer is needed.
            var hungUp = _input.TryRead(out var ready);
            if (hungUp)
            {
                _input.AdvanceTo(ready.Buffer.End);
                hungUp = ready.IsCompleted;
            }
            if (!hungUp)
            {
                using var linger = new CancellationTokenSource(CloseLinger);
                while (true)
                {
                    // IsCanceled here is a leftover wake-up (CancelPendingRead while no read was pending): keep
                    // lingering; the token bounds the wait.
                    var result = await _input.ReadAsync(linger.Token).ConfigureAwait(false);
                    _input.AdvanceTo(result.Buffer.End);
                    if (result.IsCompleted)
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException || ConnectionErrors.IsDisconnect(ex))
        {
            // Closing anyway.
        }
        _connection.Input.Complete(); // pooled arrays back
        _connection.Dispose();
    }

    /// <summary>Closes the client connection from outside (shutdown); the session cleans up its server.</summary>
    public void Abort() => _connection.Dispose();

    /// <summary>Sends a FATAL error and ends the session; used only while no server pump writes to the client.</summary>
    private async Task SendFatalAsync(PgError error)
    {
        CountError(error);
        try
        {
            MessageWriter.WriteErrorResponse(_output, error);
            await _output.FlushAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ConnectionErrors.IsDisconnect(ex))
        {
            // The client is already gone.
        }
    }

    private enum ClientExit { Terminate, Gone, ServerLost }
}
