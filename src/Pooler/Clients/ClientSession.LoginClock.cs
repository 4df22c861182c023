// The login timeout (pool.timeouts.client_login) without a timer per login. A login usually waits only for the
// client: those reads take no token, and the pooler's once-a-second sweep (CheckTimeouts) cuts a login past its
// deadline by waking its read, the way it cuts a transaction left idle (so the cut comes up to a second late, and
// reads the setting as it is then). That spares every login a linked token source, its timer and the registrations of
// each read (≈0.7 KB and two trips through the timer queue's lock, bench/RESULTS.md). The waits the sweep cannot wake
// (a server for the first login of a pool, auth_query, the check of new startup settings) take a token made when
// first needed, with the time left; a TLS handshake and the reads through TLS take it too, as a second guard (the
// wake-up reaches them through the TLS pipe as well). The login's flushes wait for nothing: its messages are a few
// hundred bytes, far below what a socket's send buffer takes. A drain wakes a login's read too (BeginDrain): the
// login then ends with the shutdown error it would get anyway.
using System.Diagnostics;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Pooler.Clients;

public sealed partial class ClientSession
{
    // No fields of its own for the deadline: a login runs in ClientState.Login from _stateSince (the accept), and
    // _timedOut is the sweep's mark. Only the rare waits' token source needs one (null once the login is over).
    private CancellationTokenSource? _loginWaits;

    /// <summary>The sweep's check (any thread): a login past client_login is woken, and ends with the timeout error.</summary>
    private void CheckLoginDeadline(long now)
    {
        var timeout = _context.Config.Pool.Timeouts.ClientLogin;
        using (Lock())
        {
            if (_state != ClientState.Login || _timedOut || Stopwatch.GetElapsedTime(_stateSince, now) <= timeout)
                return;
            _timedOut = true;
        }
        _input.CancelPendingRead();
    }

    /// <summary>The token of the waits the sweep cannot wake; made on first use, cancelled when client_login is up
    /// or at shutdown.</summary>
    private CancellationToken LoginWaitToken()
    {
        if (_loginWaits is { } made)
            return made.Token;
        var waits = CancellationTokenSource.CreateLinkedTokenSource(_context.Shutdown);
        long since;
        bool timedOut;
        using (Lock()) (since, timedOut) = (_stateSince, _timedOut);
        var left = _context.Config.Pool.Timeouts.ClientLogin - Stopwatch.GetElapsedTime(since);
        if (timedOut || left <= TimeSpan.Zero)
            waits.Cancel();
        else
            waits.CancelAfter(left);
        _loginWaits = waits;
        return waits.Token;
    }

    /// <summary>Reads during login take no token, except after a TLS handshake (see the top of this file).</summary>
    private CancellationToken LoginReadToken => _loginWaits?.Token ?? default;

    private bool LoginTimedOut => Volatile.Read(ref _timedOut) || _loginWaits is { IsCancellationRequested: true };

    /// <summary>A login read came back cancelled: past client_login or draining ends the login; anything else was a
    /// stray wake-up and the read goes on.</summary>
    private void ThrowIfLoginCut()
    {
        if (Volatile.Read(ref _timedOut))
            throw new OperationCanceledException("client_login timeout");
        if (Volatile.Read(ref _draining))
            throw new PgErrorException(PgErrors.Shutdown());
    }

    /// <summary>Called as the login leaves ClientState.Login, under the session lock: a login the sweep cut just
    /// before still ends as timed out (its wake-up would otherwise reach the client loop's first read).</summary>
    private void ThrowIfLoginTimedOutLocked()
    {
        if (_timedOut)
            throw new OperationCanceledException("client_login timeout");
    }

    /// <summary>However the login ended: the rare waits' token source goes.</summary>
    private void EndLoginWaits()
    {
        _loginWaits?.Dispose();
        _loginWaits = null;
    }
}
