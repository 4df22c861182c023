// Named prepared statements in transaction mode. A client's Parse "S_1" becomes Parse "tuki_<hash>" on whichever
// server runs it; Bind/Describe of "S_1" are renamed, and first prepared on a server that lacks the statement
// (its reply swallowed); a Parse of a statement the server already has is sent as a no-op Close whose reply
// becomes the ParseComplete the client expects. ParseComplete/CloseComplete carry no name, so each Parse/Close
// sent is queued (_expected) and the pump matches replies to the queue. An error makes the server skip the rest
// of its group (up to Sync): the skipped Parses are taken back out of the caches when the ReadyForQuery arrives.
using System.Buffers;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Pooler.Servers;
using Tuki.Pool.Pooler.Statements;

namespace Tuki.Pool.Pooler.Clients;

public sealed partial class ClientSession
{
    // A named Parse is kept whole (to hash it and replay it on other servers): it must fit well below the pipe's
    // pause threshold, or the read would wait forever for bytes the paused pipe never delivers.
    private const int MaxNamedParseLength = 512 * 1024;
    // Bind/Describe/Close names are looked for in the first bytes of a frame streamed because of its size.
    private const int NameSearchLength = 4096;

    private bool _rewriteStatements;                     // off in session mode, or with 0 configured (set at login)
    private ClientStatements? _statements;               // the client's names: created at its first named Parse
    // Created at the first Parse or Close sent: a client that never sends one (simple queries, or idle since login)
    // holds no queue.
    private Queue<ExpectedReply>? _expected;
    private long _rfqExpected;   // ReadyForQuery-producing messages sent in this binding (the "group" counter)
    private long _rfqReceived;   // ReadyForQuery received in this binding
    private long _waitGroup = -1;
    private TaskCompletionSource? _replyWaiter;
    private byte[]? _clientScratch;
    private static ReadOnlySpan<byte> ProbeName => "tuki_probe"u8;
    private Dictionary<string, long>? _pendingCloses; // client names closed, by the group whose answer is still out

    private enum Look { Pass, Forwarded, NeedMoreData, WaitForReplies }

    /// <summary>Queues the reply a Parse or Close just sent will bring. Caller holds the session lock.</summary>
    private void Expect(in ExpectedReply reply) => (_expected ??= new()).Enqueue(reply);

    /// <summary>Every message after which the server sends a ReadyForQuery. Caller holds the session lock.</summary>
    private void ExpectReadyForQuery()
    {
        _pendingReplies++;
        _rfqExpected++;
    }

    /// <summary>Parse, Bind, Describe or Close in transaction mode. Caller holds the session lock, with a server.</summary>
    private Look ForwardStatementMessage(ref ReadOnlySequence<byte> buffer, in FrameHeader header, bool whole)
    {
        var available = (int)Math.Min(buffer.Length, header.FrameLength);
        var head = FrameReader.Body(buffer.Slice(0, whole ? header.FrameLength : Math.Min(available, NameSearchLength)), ref _clientScratch);
        if (!StatementMessages.TryFindName(header.Code, head, out var offset, out var length, out var isStatement))
        {
            if (whole || available >= NameSearchLength)
                return header.Code == FrontendCode.Parse && !whole ? NamedParseTooLong(header) : Pass(header.Code);
            return Look.NeedMoreData;
        }
        var name = head.Slice(offset, length);

        if (header.Code == FrontendCode.Parse)
        {
            if (whole)
                return ForwardParse(ref buffer, header, head, name);
            if (name.IsEmpty || !_rewriteStatements)
                return Pass(header.Code); // streamed as it arrives, not inspected
            // A named Parse is needed whole (hashed, kept for other servers): wait for the rest if it may be kept.
            return header.FrameLength <= MaxNamedParseLength ? Look.NeedMoreData : NamedParseTooLong(header);
        }

        PreparedStatement? statement = null;
        if (_statements is null || !isStatement || name.IsEmpty || !_statements.TryGet(name, out statement))
        {
            // Closed in an earlier group whose answer is still out: if an error there made the server skip the
            // Close, the name still exists (SettleGroup restores it). Wait for that answer rather than guess.
            if (header.Code != FrontendCode.Close && _pendingCloses is not null
                && _pendingCloses.TryGetValue(NameKey(name), out var closedIn) && closedIn < _rfqExpected && closedIn >= _rfqReceived)
            {
                _waitGroup = closedIn;
                return Look.WaitForReplies;
            }
            return Pass(header.Code);
        }

        var output = _server!.Output;
        if (header.Code == FrontendCode.Close)
        {
            // The client forgets the name; the server keeps its copy for the next client. A Close of a name no
            // server holds still gets the CloseComplete the client expects, in its place in the stream.
            // The entry keeps what the name meant: if an earlier error makes the server skip this Close, the
            // statement still exists there and the name must keep working (SettleGroup puts it back).
            _statements.Remove(name);
            Expect(new ExpectedReply(BackendCode.CloseComplete, ReplyAction.Forward, _rfqExpected, statement, name.ToArray()));
            (_pendingCloses ??= [])[NameKey(name)] = _rfqExpected;
            WriteRenamed(ref buffer, header, head, offset, length, PreparedStatement.NoneName, whole, output);
            return Look.Forwarded;
        }

        if (!EnsurePrepared(statement, output, out var wait))
            return wait;
        WriteRenamed(ref buffer, header, head, offset, length, statement.ServerName, whole, output);
        return Look.Forwarded;
    }

    private Look ForwardParse(ref ReadOnlySequence<byte> buffer, in FrameHeader header, ReadOnlySpan<byte> body, ReadOnlySpan<byte> name)
    {
        var rest = body[(name.Length + 1)..];
        var textEnd = rest.IndexOf((byte)0);
        if (textEnd < 0)
            return Pass(header.Code); // malformed: PostgreSQL says so
        var refusal = ApplyTraits(SqlInspector.Inspect(rest[..textEnd]), viaQuery: false);
        byte[]? replaced = null;
        if (refusal is not null)
        {
            // Keep the declared parameter types, swap the text for one that raises the pooler's error.
            var text = System.Text.Encoding.UTF8.GetBytes(refusal);
            replaced = [.. text, 0, .. rest[(textEnd + 1)..]];
            rest = replaced;
        }

        var output = _server!.Output;
        if (!_rewriteStatements || name.IsEmpty)
        {
            if (replaced is null)
                return Pass(header.Code);
            Pass(header.Code);
            MessageWriter.WriteParse(output, name, rest);
        }
        else
        {
            var statement = PreparedStatement.FromParseBody(rest);
            var cache = ServerCache();
            var entry = cache.Find(statement.Key);
            if (MustWaitFor(entry))
                return Look.WaitForReplies;
            // The name maps to the cached instance when there is one: a skipped reply takes the name back out only
            // if it still maps to the very statement its queue entry holds.
            var clientName = (_statements ??= new ClientStatements()).Set(name, entry?.Statement ?? statement);
            if (entry is not null && (_transactionStatus == TransactionStatus.Failed || _pendingReplies > 0))
            {
                // In a failed transaction PostgreSQL refuses a Parse (25P02) unless it ends the transaction: a Parse
                // of the same text under a probe name (closed right after, reply swallowed) gets the very answer the
                // client's Parse would have had. With replies still owed the status this group starts in is not
                // known yet, so the same applies. (Not the unnamed statement: the client may be using it.)
                MessageWriter.WriteParse(output, ProbeName, statement.Body);
                Expect(new ExpectedReply(BackendCode.ParseComplete, ReplyAction.Forward, _rfqExpected, entry.Statement, clientName));
                MessageWriter.WriteCloseStatement(output, ProbeName);
                Expect(new ExpectedReply(BackendCode.CloseComplete, ReplyAction.Swallow, _rfqExpected, null, null));
            }
            else if (entry is not null)
            {
                _stats?.PreparedHit();
                // Already prepared here: a no-op Close takes the Parse's place, its reply becomes ParseComplete.
                MessageWriter.WriteCloseStatement(output, PreparedStatement.NoneName);
                Expect(new ExpectedReply(BackendCode.CloseComplete, ReplyAction.AnswerParse, _rfqExpected, entry.Statement, clientName));
            }
            else
            {
                _stats?.PreparedMiss();
                EvictFor(cache, statement, output);
                MessageWriter.WriteParse(output, statement.ServerName, statement.Body);
                Expect(new ExpectedReply(BackendCode.ParseComplete, ReplyAction.Forward, _rfqExpected, statement, clientName));
            }
        }
        CountRequest(header.Code);
        buffer = buffer.Slice(header.FrameLength);
        return Look.Forwarded;
    }

    /// <summary>Makes sure the bound server has <paramref name="statement"/>, preparing it first (reply swallowed)
    /// when it does not. False when the answer to an earlier group's Parse of it must be awaited first.</summary>
    private bool EnsurePrepared(PreparedStatement statement, System.IO.Pipelines.PipeWriter output, out Look wait)
    {
        wait = Look.WaitForReplies;
        var cache = ServerCache();
        var entry = cache.Find(statement.Key);
        if (MustWaitFor(entry))
            return false;
        if (entry is not null)
            _stats?.PreparedHit();
        if (entry is null)
        {
            _stats?.PreparedMiss();
            EvictFor(cache, statement, output);
            MessageWriter.WriteParse(output, statement.ServerName, statement.Body);
            Expect(new ExpectedReply(BackendCode.ParseComplete, ReplyAction.Swallow, _rfqExpected, statement, null));
        }
        return true;
    }

    /// <summary>A Parse of this statement was sent in an earlier, unanswered group: if that group fails, the server
    /// will not have it, so the client loop waits for the answer rather than guess (pipelines across Syncs only).</summary>
    private bool MustWaitFor(ServerStatementCache.Entry? entry)
    {
        if (entry is null || entry.PendingGroup < 0 || entry.PendingGroup >= _rfqExpected)
            return false;
        _waitGroup = entry.PendingGroup;
        return true;
    }

    private void EvictFor(ServerStatementCache cache, PreparedStatement statement, System.IO.Pipelines.PipeWriter output)
    {
        if (cache.Add(statement, _rfqExpected) is { } evicted)
        {
            _stats?.PreparedEvicted();
            MessageWriter.WriteCloseStatement(output, evicted.ServerName);
            Expect(new ExpectedReply(BackendCode.CloseComplete, ReplyAction.Swallow, _rfqExpected, evicted, null));
        }
    }

    private ServerStatementCache ServerCache() => _server!.Statements ??= new ServerStatementCache(Math.Max(1, MaxPreparedStatements));

    /// <summary>Copies the frame with the name at [offset, offset+length) of its body replaced; a frame too big to
    /// hold whole streams on from there.</summary>
    private void WriteRenamed(ref ReadOnlySequence<byte> buffer, in FrameHeader header, ReadOnlySpan<byte> head,
        int offset, int length, ReadOnlySpan<byte> newName, bool whole, System.IO.Pipelines.PipeWriter output)
    {
        StatementMessages.WriteRenamedHead(output, header.Code, header.FrameLength, head, offset, length, newName);
        var skip = FrameHeader.Size + offset + length + 1;
        var available = whole ? header.FrameLength : buffer.Length;
        Copy(buffer.Slice(skip, available - skip), output);
        CountRequest(header.Code);
        buffer = buffer.Slice(available);
        if (!whole)
            _clientStreamRemaining = header.FrameLength - available;
    }

    /// <summary>Forwarded unchanged (by the caller); a Parse or Close still takes its place in the reply queue. (A
    /// malformed one gets an error instead of its reply: its entry is dropped with the rest of its group.)</summary>
    private Look Pass(byte code)
    {
        if (_rewriteStatements && code is FrontendCode.Parse or FrontendCode.Close)
            Expect(new ExpectedReply(code == FrontendCode.Parse ? BackendCode.ParseComplete : BackendCode.CloseComplete,
                ReplyAction.Forward, _rfqExpected, null, null));
        return Look.Pass;
    }

    private static Look NamedParseTooLong(in FrameHeader header) =>
        throw new PgErrorException(new PgError("FATAL", SqlState.ProgramLimitExceeded,
            $"prepared statement of {header.FrameLength} bytes is over the pooler's limit of {MaxNamedParseLength} bytes for named statements",
            "Send very long statements unnamed (most drivers do past a size), or use session mode."));

    // ---- Pump side: matching ParseComplete/CloseComplete to what was sent ----

    /// <summary>What to do with a ParseComplete or CloseComplete from the server.</summary>
    private ReplyAction OnStatementReply(ServerConnection server, byte code)
    {
        using (Lock())
        {
            if (_expected is null || !_expected.TryDequeue(out var expected))
                return ReplyAction.Forward;
            if (expected.Reply != code)
                throw new InvalidOperationException($"server sent '{(char)code}' where '{(char)expected.Reply}' was expected");
            if (code == BackendCode.ParseComplete && expected.Statement is not null)
                server.Statements?.Confirm(expected.Statement.Key);
            return expected.Action;
        }
    }

    /// <summary>At each ReadyForQuery: what is still queued for the group it ends was skipped after an error. Caller
    /// holds the session lock.</summary>
    private void SettleGroup()
    {
        _rfqReceived++;
        List<ExpectedReply>? skippedCloses = null;
        HashSet<(PreparedStatement, string)>? skippedParses = null; // (statement, client name) of skipped Parses
        while (_expected is not null && _expected.TryPeek(out var expected) && expected.Group < _rfqReceived)
        {
            _expected.Dequeue();
            if (expected is { Reply: BackendCode.CloseComplete, Action: ReplyAction.Forward, Statement: not null })
            {
                // A Close of a name whose Parse was skipped earlier in this group closes nothing that exists.
                if (skippedParses is null || !skippedParses.Contains((expected.Statement, NameKey(expected.ClientName!))))
                    (skippedCloses ??= []).Add(expected);
                continue;
            }
            if (expected is { ClientName: not null, Statement: not null })
                (skippedParses ??= []).Add((expected.Statement, NameKey(expected.ClientName)));
            OnSkipped(expected);
        }
        // A client's Close that never ran: its name still means the statement, unless a later Parse took the name
        // (after the group's skipped Parses have been taken back out, so a skipped Close+Parse restores the old one).
        if (skippedCloses is not null) // (not `?? []`: that allocates an empty list at every ReadyForQuery)
            foreach (var close in skippedCloses)
                if (!_statements!.TryGet(close.ClientName, out _))
                    _statements.Set(close.ClientName, close.Statement!);
        if (_pendingCloses is { Count: > 0 })
            foreach (var (name, group) in _pendingCloses)
                if (group < _rfqReceived)
                    _pendingCloses.Remove(name);
        if (_replyWaiter is not null && _rfqReceived > _waitGroup)
        {
            _replyWaiter.TrySetResult();
            _replyWaiter = null;
        }
    }

    // Statements are shared between names (one cached instance per text): a skipped Parse only hides the Close of the
    // same name. Latin-1 maps bytes to chars one to one.
    private static string NameKey(ReadOnlySpan<byte> name) => System.Text.Encoding.Latin1.GetString(name);

    private void OnSkipped(in ExpectedReply expected)
    {
        var cache = _server?.Statements;
        switch (expected.Action)
        {
            case ReplyAction.Forward when expected.Statement is not null:
            case ReplyAction.Swallow when expected.Reply == BackendCode.ParseComplete:
                // The Parse never ran: the server lacks the statement, and the client's name means nothing.
                cache?.RemoveIfPending(expected.Statement!.Key, expected.Group);
                if (expected.ClientName is not null)
                    _statements?.RemoveIf(expected.ClientName, expected.Statement!);
                break;
            case ReplyAction.AnswerParse:
                _statements?.RemoveIf(expected.ClientName!, expected.Statement!);
                break;
            case ReplyAction.Swallow when expected.Statement is not null:
                // An eviction Close that never ran: the statement is still on the server.
                cache?.Restore(expected.Statement!);
                break;
        }
    }

    /// <summary>Client loop: waits until the group a pending Parse belongs to has been answered.</summary>
    private async Task WaitForRepliesAsync()
    {
        Task wait;
        using (Lock())
        {
            if (_server is null || _serverLost || _rfqReceived > _waitGroup)
                return;
            _replyWaiter ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            wait = _replyWaiter.Task;
        }
        await wait.ConfigureAwait(false);
    }

    /// <summary>A new binding starts with nothing queued. Caller holds the session lock.</summary>
    private void ResetReplyTracking()
    {
        _expected?.Clear();
        _pendingCloses?.Clear();
        _rfqExpected = _rfqReceived = 0;
        _waitGroup = -1;
        _replyWaiter?.TrySetResult();
        _replyWaiter = null;
    }
}
