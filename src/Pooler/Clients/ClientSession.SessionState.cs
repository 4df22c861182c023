// What a client's session is, across the servers that run its transactions (transaction and statement modes):
// - session SETs: the text of each Query/Parse is looked at (SqlInspector); after a transaction that changed
//   settings, the server's session-level settings are read back (one extra round trip, only then) and become the
//   client's, replayed on its next server and reset before another client's transaction;
// - what cannot move between servers (LISTEN, session advisory locks, temp tables, WITH HOLD cursors, SQL PREPARE)
//   pins the client to its server until it disconnects (pool.pinning: pin, capped by max_pinned), or fails with a
//   clear error raised by the server itself, so it lands in its place in the reply stream (pinning: error);
// - DISCARD ALL / DEALLOCATE outside a transaction are answered by the pooler (they concern the client's names).
// Session mode holds the server for the whole connection; a held server is reset (reset_query) before reuse.
using System.Buffers;
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Pooling;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Pooler.Servers;
using Tuki.Pool.Pooler.Statements;

namespace Tuki.Pool.Pooler.Clients;

public sealed partial class ClientSession
{
    // Everything a server's session holds beyond what PostgreSQL reports: settings with source 'session' (what
    // SET, RESET and set_config leave), and the role, which pg_settings does not show.
    private const string SettingsSnapshotQuery =
        "SELECT name, setting FROM pg_settings WHERE source = 'session' " +
        "UNION ALL SELECT 'role', current_setting('role') WHERE current_setting('role') <> 'none'";

    private PoolMode _mode = PoolMode.Transaction;
    // The pool's rules as configured when this client logged in, shared with every client of that pool: one reference
    // each instead of a copy of every value (an idle client is smaller by the difference). Null before login.
    private PoolConfig? _rules;
    private PinningPolicy Pinning => _rules!.Pinning;
    private string ResetQuery => _rules!.ResetQuery;
    private TimeSpan IdleTransactionTimeout => _rules?.Timeouts.IdleTransaction ?? TimeSpan.Zero;
    private TimeSpan QueryTimeout => _rules?.Timeouts.Query ?? TimeSpan.Zero;
    private int MaxPreparedStatements => _rules?.MaxPreparedStatements ?? 0;
    private bool _inspect;             // look at SQL text: transaction and statement modes
    private bool _pinned;              // keeps its server until it disconnects
    private bool _settingsChanged;     // this binding ran a session SET: read settings back before release
    private bool _statementsReset;     // this binding sent DISCARD ALL / DEALLOCATE ALL: an error leaves doubt
    private bool _statementModeViolated;
    private string? _localReply;       // command tag the pooler answers itself (no server needed)
    private ParameterTable? _startupDesired;

    /// <summary>True while the server must stay with this client between transactions.</summary>
    private bool HoldsServer => _pinned || _mode == PoolMode.Session;

    // pool.timeouts.idle_transaction: a client that holds a server inside a transaction and sends nothing.
    private long _idleInTransactionSince;   // Stopwatch timestamp of the ReadyForQuery 'T'/'E' it went quiet after
    private bool _timedOut;                 // the sweep cut this client: idle in a transaction, or a login past client_login

    // pool.timeouts.query: a query running longer is cancelled on the server (the client gets PostgreSQL's 57014).
    private long _cancelledQueryAt;

    /// <summary>Called about once a second for every client: cuts a login past pool.timeouts.client_login (see
    /// ClientSession.LoginClock), cancels a query running past pool.timeouts.query, and cuts a client idle in a
    /// transaction past pool.timeouts.idle_transaction (its loop wakes, rolls the server back and sends FATAL 25P03, as
    /// PostgreSQL's own setting would).</summary>
    public void CheckTimeouts(long now)
    {
        if (_state == ClientState.Login)
        {
            CheckLoginDeadline(now);
            return;
        }
        if (IdleTransactionTimeout <= TimeSpan.Zero && QueryTimeout <= TimeSpan.Zero)
            return;
        bool cancel = false, cut = false;
        using (Lock())
        {
            if (_clientGone || _server is null)
                return;
            if (QueryTimeout > TimeSpan.Zero && _querySentAt != 0 && _cancelledQueryAt != _querySentAt
                && System.Diagnostics.Stopwatch.GetElapsedTime(_querySentAt, now) > QueryTimeout)
            {
                _cancelledQueryAt = _querySentAt;
                cancel = true;
            }
            else if (IdleTransactionTimeout > TimeSpan.Zero && _idleInTransactionSince != 0 && _pendingReplies == 0
                && System.Diagnostics.Stopwatch.GetElapsedTime(_idleInTransactionSince, now) > IdleTransactionTimeout)
            {
                _idleInTransactionSince = 0;
                _timedOut = true;
                cut = true;
            }
        }
        if (cancel)
        {
            _context.Logger.LogInformation("Client {Client}: query running over {Timeout} (pool.timeouts.query), cancelled", _connection.RemoteEndPoint, QueryTimeout);
            _ = ForwardCancelAsync();
        }
        if (cut)
        {
            _context.Logger.LogInformation("Client {Client} idle in a transaction for over {Timeout}: disconnected", _connection.RemoteEndPoint, IdleTransactionTimeout);
            _input.CancelPendingRead();
        }
    }

    private void ApplyPoolRules(PoolConfig pool)
    {
        _rules = pool;
        _mode = pool.Mode;
        _inspect = pool.Mode != PoolMode.Session;
        _rewriteStatements = _inspect && pool.MaxPreparedStatements > 0;
        if (_desired is not null)
            _desired = _pool!.ShareSettings(_desired);
        _startupDesired = _desired; // the same instance until the client changes a setting (DesiredForWrite)
    }

    /// <summary>Records what a statement does to the session; returns SQL that raises the pooler's error in its
    /// place when it must be refused. Caller holds the session lock.</summary>
    private string? ApplyTraits(SqlTraits traits, bool viaQuery)
    {
        if (traits.Flags == SqlTrait.None)
            return null;
        if (traits.Has(SqlTrait.ChangesSettings) || traits.Has(SqlTrait.DiscardAll))
            _settingsChanged = true;
        if (traits.Has(SqlTrait.BeginsTransaction) && _mode == PoolMode.Statement)
            return RaiseSql("transaction blocks are not allowed in statement pooling mode",
                $"Database \"{_database}\" uses pool.mode: statement, where each statement runs on its own; use transaction mode for multi-statement transactions.");
        if (traits.Has(SqlTrait.NeedsPin) && !_pinned)
        {
            if (Pinning == PinningPolicy.Error)
                return RaiseSql($"{traits.PinFeature} cannot be used through the pooler in {EnumSpellings.NameOf(_mode)} mode",
                    $"It needs a server connection of its own, and database \"{_database}\" has pool.pinning: error. Set pool.pinning: pin to keep such a client on one server, or use session mode.");
            if (!_pool!.TryPin())
                return RaiseSql($"{traits.PinFeature} would pin this client to a server, but {_pool.Settings.MaxPinned} clients of database \"{_database}\", user \"{_user}\" are already pinned",
                    "Raise pool.max_pinned in pooler.yaml, or end other sessions that use LISTEN, session advisory locks, temp tables, WITH HOLD cursors or PREPARE.");
            _pinned = true;
            MarkPinned();
            _context.Logger.LogDebug("Client {Client} pinned to its server by {Feature}", _connection.RemoteEndPoint, traits.PinFeature);
        }
        if (viaQuery || traits.Has(SqlTrait.DiscardAll) || traits.Has(SqlTrait.DeallocateAll))
            return ForgetStatementsFor(traits);
        return null;
    }

    /// <summary>DISCARD ALL / DEALLOCATE sent while a server is bound. Caller holds the session lock.</summary>
    private string? ForgetStatementsFor(SqlTraits traits)
    {
        if (traits.Has(SqlTrait.DiscardAll) || traits.Has(SqlTrait.DeallocateAll))
        {
            // Everything prepared on this server goes, the pooler's shared copies included.
            _statements?.Clear();
            _server!.Statements?.Clear();
            _statementsReset = true;
        }
        else if (traits.Has(SqlTrait.Deallocate) && _statements is not null
            && _statements.TryGet(System.Text.Encoding.UTF8.GetBytes(traits.DeallocateName!), out _))
        {
            return RaiseSql($"DEALLOCATE of protocol-level prepared statement \"{traits.DeallocateName}\" inside a transaction is not supported by the pooler",
                "Close the statement with the protocol's Close message, or run DEALLOCATE outside a transaction block.");
        }
        return null;
    }

    /// <summary>A Query in transaction mode, with a server bound. Caller holds the session lock.</summary>
    private Look ForwardQuery(ref ReadOnlySequence<byte> buffer, in FrameHeader header, bool whole)
    {
        if (!whole)
            return Look.Pass; // streamed (over 64 KiB): not inspected
        var body = FrameReader.Body(buffer.Slice(0, header.FrameLength), ref _clientScratch);
        if (body.IsEmpty || body[^1] != 0)
            return Look.Pass;
        var refusal = ApplyTraits(SqlInspector.Inspect(body[..^1]), viaQuery: true);
        if (refusal is null)
            return Look.Pass;
        MessageWriter.WriteQuery(_server!.Output, refusal);
        CountRequest(header.Code);
        buffer = buffer.Slice(header.FrameLength);
        return Look.Forwarded;
    }

    /// <summary>With no server bound: DISCARD ALL, DEALLOCATE ALL and DEALLOCATE of a protocol statement are about
    /// the client's own names and settings, so the pooler answers them without renting a server.</summary>
    private bool TryAnswerLocally(in ReadOnlySequence<byte> frame)
    {
        var body = FrameReader.Body(frame, ref _clientScratch);
        var start = body.IndexOfAnyExcept(" \t\r\n"u8);
        if (start < 0 || (body[start] | 0x20) != 'd' || body[^1] != 0)
            return false; // the cheap test that spares every other query the inspection
        var traits = SqlInspector.Inspect(body[..^1]);
        if (!traits.Single)
            return false;
        if (traits.Has(SqlTrait.DiscardAll))
        {
            _statements?.Clear();
            _localReply = "DISCARD ALL";
            return true;
        }
        if (traits.Has(SqlTrait.DeallocateAll))
        {
            _statements?.Clear();
            _localReply = "DEALLOCATE ALL";
            return true;
        }
        if (traits.Has(SqlTrait.Deallocate) && _statements is not null
            && _statements.Remove(System.Text.Encoding.UTF8.GetBytes(traits.DeallocateName!)))
        {
            _localReply = "DEALLOCATE";
            return true;
        }
        return false;
    }

    /// <summary>Client loop, no server bound: sends the reply <see cref="TryAnswerLocally"/> prepared.</summary>
    private async Task AnswerLocallyAsync()
    {
        await TakePump().ConfigureAwait(false); // the last binding's pump may still be flushing its ReadyForQuery
        var tag = _localReply!;
        _localReply = null;
        if (tag == "DISCARD ALL")
            ResetSettingsToStartup();
        MessageWriter.WriteCommandComplete(_output, tag);
        MessageWriter.WriteReadyForQuery(_output, TransactionStatus.Idle);
        await _output.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>DISCARD ALL's RESET ALL: the client's settings go back to what it asked for at startup; reported
    /// ones that change are announced as a server would.</summary>
    private void ResetSettingsToStartup()
    {
        var before = _desired;
        _desired = _startupDesired;
        if (before is null)
            return;
        foreach (var (name, value) in before)
        {
            if (!SettableReported.Contains(name))
                continue;
            var now = DesiredValue(name) ?? PoolDefault(name);
            if (now is not null && now != value)
                MessageWriter.WriteParameterStatus(_output, name, now);
        }
    }

    private string? PoolDefault(string name)
    {
        foreach (var (reported, value) in _pool?.ServerParameters ?? [])
            if (string.Equals(reported, name, StringComparison.OrdinalIgnoreCase))
                return value;
        return null;
    }

    /// <summary>SQL that makes the server raise the pooler's error (SQLSTATE 0A000) in place of a refused statement.</summary>
    private static string RaiseSql(string message, string hint) =>
        $"DO $tuki$BEGIN RAISE EXCEPTION USING ERRCODE = '0A000', MESSAGE = {QuoteLiteral(message)}, HINT = {QuoteLiteral(hint)}; END$tuki$";

    // ---- Pump side, when a server leaves the client ----

    /// <summary>Work a server needs between its release and the pool (it belongs to the pump alone by then): the
    /// reset of a held server, the cleanup after a failed DISCARD/DEALLOCATE, reading back changed settings.</summary>
    private async Task<bool> PrepareForPoolAsync(ServerConnection server)
    {
        bool reset, snapshot;
        using (Lock())
        {
            reset = _clientGone && HoldsServer;
            snapshot = _settingsChanged && !reset;
            _settingsChanged = false;
        }
        if (!reset && !snapshot && !server.StatementsUncertain)
            return true;
        using var timeout = new CancellationTokenSource(ResetTimeout);
        try
        {
            if (reset)
            {
                if (await server.ExecuteAsync(ResetQuery, timeout.Token).ConfigureAwait(false) is { } error)
                {
                    _context.Logger.LogWarning("reset_query failed on {Server}: {Error}; closing it", server, error.Message);
                    return false;
                }
                server.ForgetSessionState();
            }
            else if (server.StatementsUncertain)
            {
                if (await server.ExecuteAsync("DEALLOCATE ALL", timeout.Token).ConfigureAwait(false) is not null)
                    return false;
                server.Statements?.Clear();
                server.StatementsUncertain = false;
            }
            if (snapshot)
                return await ReadBackSettingsAsync(server, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (Exception ex) when (ex is OperationCanceledException || Transport.ConnectionErrors.IsDisconnect(ex))
        {
            return false;
        }
    }

    /// <summary>After a transaction that ran a session SET: the server's session settings become the client's.</summary>
    private async Task<bool> ReadBackSettingsAsync(ServerConnection server, CancellationToken cancellationToken)
    {
        var (rows, error) = await server.QueryAsync(SettingsSnapshotQuery, cancellationToken).ConfigureAwait(false);
        if (error is not null)
            return false;
        using (Lock())
        {
            var seen = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
            foreach (var row in rows)
            {
                if (row is [{ } name, { } value])
                {
                    seen.Add(name);
                    SetDesired(name, value);
                    server.Parameters[name] = value;
                }
            }
            // Settings the client RESET are gone from the session: forget them (reported ones follow ParameterStatus).
            foreach (var name in _desired?.Keys.ToList() ?? [])
            {
                if (!seen.Contains(name) && !SettableReported.Contains(name))
                {
                    DesiredForWrite().Remove(name);
                    if (!IsStartupReported(server, name))
                        server.Parameters.Remove(name);
                }
            }
        }
        return true;
    }

    /// <summary>Statement mode's backstop: a transaction left open (however it was started) ends the session.</summary>
    private void EndStatementModeViolation()
    {
        _context.Logger.LogInformation("Client {Client} left a transaction open in statement mode", _connection.RemoteEndPoint);
        try
        {
            MessageWriter.WriteErrorResponse(_output, new PgError("FATAL", SqlState.FeatureNotSupported,
                "transaction blocks are not allowed in statement pooling mode",
                $"Database \"{_database}\" uses pool.mode: statement; use transaction mode for multi-statement transactions."));
        }
        catch (Exception ex) when (ex is InvalidOperationException or ObjectDisposedException)
        {
        }
        _input.CancelPendingRead();
    }
}
