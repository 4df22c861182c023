// The session's state as others see it (metrics, SHOW CLIENTS, drain), and the hooks the forwarding path calls to
// move it: each hook is one line at its call site and costs a read of the loop's batch time (LoopClock) and a few
// field writes, no allocation.
using System.Diagnostics;
using System.Net;
using Tuki.Pool.Pooler.Metrics;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Pooler.Transport;

namespace Tuki.Pool.Pooler.Clients;

public sealed partial class ClientSession
{
    private static long s_nextId;

    private ClientState _state = ClientState.Login;
    private long _stateSince = LoopClock.Now;
    private readonly DateTime _connectedAt = DateTime.UtcNow;
    private PoolStats? _stats;
    private long _boundAt;       // Stopwatch timestamp of the current binding (transaction duration)
    private long _querySentAt;   // Stopwatch timestamp of the oldest request still owed a ReadyForQuery; 0 = none
    private bool _draining;      // shutdown: close at the next moment no transaction is open
    private long _bytesInReported, _bytesOutReported;
    private string? _applicationName;

    /// <summary>Unique per process (SHOW CLIENTS' ptr, SHOW SERVERS' link).</summary>
    public long Id { get; } = Interlocked.Increment(ref s_nextId);

    public ClientState State
    {
        get { using (Lock()) return _state; }
    }

    /// <summary>What admin and metrics may read about this client; a copy taken under the session's lock. The
    /// addresses only when asked: they are two syscalls (accepted clients keep no copy), made outside the lock.</summary>
    public ClientInfo Describe(bool addresses = true)
    {
        var remote = addresses ? _connection.RemoteEndPoint : null;
        var local = addresses ? _connection.LocalEndPoint : null;
        using (Lock())
        {
            var since = DateTime.UtcNow - Stopwatch.GetElapsedTime(_stateSince);
            return new ClientInfo(Id, _user, _database, _state, remote, local, _connectedAt, since,
                _state == ClientState.Waiting ? Stopwatch.GetElapsedTime(_stateSince).TotalSeconds : 0,
                _server, _pool, _applicationName);
        }
    }

    /// <summary>Pinned: the client keeps its server until it disconnects (set by the forwarding path when it sees
    /// session state that cannot follow the client to another server).</summary>
    internal void MarkPinned()
    {
        using (Lock()) SetStateLocked(ClientState.Pinned);
    }

    /// <summary>Shutdown: an idle client is told 57P01 and closed now; one in a transaction once it is over.</summary>
    public void BeginDrain()
    {
        bool wake;
        using (Lock())
        {
            _draining = true;
            wake = _state is ClientState.Idle or ClientState.Login && _server is null;
        }
        if (wake)
            _input.CancelPendingRead(); // the client loop wakes and sees DrainDue; a login's read, ThrowIfLoginCut
    }

    /// <summary>After login: the pool's counters are resolved once here, for the life of the session.</summary>
    private void OnLoggedIn()
    {
        using (Lock())
        {
            if (_draining)
                throw new PgErrorException(PgErrors.Shutdown());
            ThrowIfLoginTimedOutLocked();
            SetStateLocked(ClientState.Idle);
        }
        _stats = _context.Metrics.For(_pool!.Key);
        _stats.Login(); // only a login that got through counts
    }

    /// <summary>First message of a transaction: the client now waits (for RESUME when paused, then for a server)
    /// from <see cref="_stateSince"/> on. No result: the client loop's state machine then needs no awaiter of its own
    /// for this call (an idle client's box is smaller).</summary>
    private async ValueTask BeginWaitingAsync()
    {
        using (Lock())
        {
            if (_draining)
                throw new PgErrorException(PgErrors.Shutdown());
            _state = ClientState.Waiting;
            _stateSince = LoopClock.Now; // even if it was waiting already: this wait starts now
        }
        var gate = _pool!.Group.WaitUntilResumedAsync(_context.Shutdown);
        if (!gate.IsCompleted)
            await gate.ConfigureAwait(false);
    }

    /// <summary>A server is bound at <paramref name="now"/>: the wait is over, the transaction starts. Caller holds
    /// the session lock.</summary>
    private void OnServerBoundLocked(long now)
    {
        _stats!.Waited(now - _stateSince);
        _boundAt = now;
        _querySentAt = 0;
        SetStateLocked(ClientState.Active, now);
    }

    /// <summary>A request that owes a ReadyForQuery was forwarded. Caller holds the session lock.</summary>
    private void OnRequestSent()
    {
        if (_querySentAt == 0)
            _querySentAt = LoopClock.Now;
    }

    /// <summary>A ReadyForQuery settled one request. Caller holds the session lock.</summary>
    private void OnRequestDone(bool swallowed)
    {
        if (swallowed || _querySentAt == 0)
            return;
        var now = LoopClock.Now;
        _stats!.QueryDone(now - _querySentAt);
        // Pipelined requests: the next one's time runs from this reply (its own send time is not tracked).
        _querySentAt = _pendingReplies > 0 ? now : 0;
    }

    /// <summary>The server went back to the pool: the transaction is over.</summary>
    private void OnTransactionReleased()
    {
        bool drain;
        var now = LoopClock.Now;
        using (Lock())
        {
            if (_boundAt != 0)
                _stats!.TransactionDone(now - _boundAt);
            _boundAt = 0;
            if (_state != ClientState.Closing)
                SetStateLocked(ClientState.Idle, now);
            drain = _draining;
        }
        if (drain)
            _input.CancelPendingRead();
    }

    /// <summary>PostgreSQL sent this client an ErrorResponse (the frame, header included).</summary>
    private void OnServerError(in System.Buffers.ReadOnlySequence<byte> frame) => _stats?.ServerError(frame);

    /// <summary>True when the client loop was woken for shutdown and holds no server: time to say 57P01.</summary>
    private bool DrainDue()
    {
        using (Lock()) return _draining && _server is null && !_serverLost;
    }

    /// <summary>The pooler raised <paramref name="error"/> for this client: counted as a login or a session error.</summary>
    private void CountError(PgError error)
    {
        if (_stats is not null)
            _stats.Error(ErrorKind.Pooler, error.Code);
        else if (_context.Config.Databases.ContainsKey(_database) && _context.Config.Users.ContainsKey(_user))
            _context.Metrics.LoginError(_database, _user, error.Code);
        else
            _context.Metrics.LoginError("", "", error.Code); // unknown names: one bucket, never a label per probe
    }

    /// <summary>Moves bytes counted by the socket since the last call into the pool's counters (scrape, exit).</summary>
    public void ReportBytes()
    {
        if (_stats is null)
            return;
        var read = _connection.BytesRead;
        var sent = _connection.BytesSent;
        var newIn = read - Interlocked.Exchange(ref _bytesInReported, read);
        var newOut = sent - Interlocked.Exchange(ref _bytesOutReported, sent);
        _stats.AddBytes(Math.Max(0, newIn), Math.Max(0, newOut));
    }

    /// <summary>One Information line per disconnect: who, how long, how many bytes (never a secret).</summary>
    private void LogDisconnect()
    {
        if (_state == ClientState.Login && _user.Length == 0)
            return; // a probe or a cancel request: nothing logged in, nothing to report
        if (!_context.Config.Logging.Connections || !_context.Logger.IsEnabled(Microsoft.Extensions.Logging.LogLevel.Information))
            return;
        var remote = _connection.RemoteEndPoint;
        Microsoft.Extensions.Logging.LoggerExtensions.LogInformation(_context.Logger,
            "Client {Client} disconnected from {Database} as {User} after {DurationMs:0} ms, {BytesIn} bytes in, {BytesOut} bytes out",
            remote, _database, _user, (DateTime.UtcNow - _connectedAt).TotalMilliseconds, _connection.BytesRead, _connection.BytesSent);
    }

    /// <summary>Leaves the session: any server is released or rolled back by the Release path.</summary>
    private Task ExitAsync(ClientExit exit)
    {
        using (Lock()) SetStateLocked(ClientState.Closing);
        return ReleaseOnExitAsync(exit);
    }

    private void SetStateLocked(ClientState state, long now = 0)
    {
        if (_state == state)
            return;
        _state = state;
        _stateSince = now != 0 ? now : LoopClock.Now;
    }
}

/// <summary>A copy of one client's state for admin and metrics (see <see cref="ClientSession.Describe"/>).</summary>
public sealed record ClientInfo(
    long Id, string User, string Database, ClientState State, EndPoint? Remote, EndPoint? Local,
    DateTime ConnectedAt, DateTime StateSince, double WaitSeconds,
    Servers.ServerConnection? Server, Pooling.ServerPool? Pool, string? ApplicationName);
