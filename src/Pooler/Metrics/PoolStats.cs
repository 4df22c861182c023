// Counters of one pool (database, user), recorded on the forwarding path: plain Interlocked adds on fields of an
// object the client session resolved once at login, and histogram children resolved once here. No allocation, no
// lookup per message. SHOW STATS reads the totals; the Prometheus counters are moved up to them at scrape time.
using System.Diagnostics;
using Prometheus;
using Tuki.Pool.Pooler.Pooling;

namespace Tuki.Pool.Pooler.Metrics;

public sealed class PoolStats
{
    private readonly PoolerMetrics? _metrics;
    private readonly Histogram.Child? _waitSeconds;
    private readonly Histogram.Child? _transactionSeconds;
    private readonly Histogram.Child? _querySeconds;
    private readonly Counter.Child[]? _disconnects; // by DisconnectReason, created up front so every reason shows 0

    // Totals since start; times in microseconds as PgBouncer's SHOW STATS gives them.
    private long _transactions, _queries, _transactionMicros, _queryMicros, _waitMicros, _waits;
    private long _received, _sent;
    private long _preparedHits, _preparedMisses, _preparedEvictions;
    private long _serverConnects, _serverConnectFailures, _logins;

    internal PoolStats(PoolKey key, PoolerMetrics? metrics)
    {
        Key = key;
        _metrics = metrics;
        if (metrics is null)
            return;
        _waitSeconds = metrics.WaitSeconds.WithLabels(key.Database, key.User);
        _transactionSeconds = metrics.TransactionSeconds.WithLabels(key.Database, key.User);
        _querySeconds = metrics.QuerySeconds.WithLabels(key.Database, key.User);
        _disconnects = [.. Enum.GetValues<DisconnectReason>().Select(r => metrics.ServerDisconnects.WithLabels(key.Database, key.User, PoolerMetrics.ReasonLabel(r)))];
    }

    public PoolKey Key { get; }

    public long Transactions => Volatile.Read(ref _transactions);
    public long Queries => Volatile.Read(ref _queries);
    public long TransactionMicros => Volatile.Read(ref _transactionMicros);
    public long QueryMicros => Volatile.Read(ref _queryMicros);
    public long WaitMicros => Volatile.Read(ref _waitMicros);
    public long Waits => Volatile.Read(ref _waits);
    public long BytesReceived => Volatile.Read(ref _received);
    public long BytesSent => Volatile.Read(ref _sent);
    public long PreparedHits => Volatile.Read(ref _preparedHits);
    public long PreparedMisses => Volatile.Read(ref _preparedMisses);
    public long PreparedEvictions => Volatile.Read(ref _preparedEvictions);
    public long ServerConnects => Volatile.Read(ref _serverConnects);
    public long ServerConnectFailures => Volatile.Read(ref _serverConnectFailures);
    public long Logins => Volatile.Read(ref _logins);

    /// <summary>A transaction waited <paramref name="ticks"/> (Stopwatch) for a server.</summary>
    public void Waited(long ticks) => Record(ref _waits, ref _waitMicros, _waitSeconds, ticks);

    /// <summary>A transaction held its server <paramref name="ticks"/> (Stopwatch), from bind to release.</summary>
    public void TransactionDone(long ticks) => Record(ref _transactions, ref _transactionMicros, _transactionSeconds, ticks);

    /// <summary>One request (Query, Sync, FunctionCall) got its ReadyForQuery after <paramref name="ticks"/>.</summary>
    public void QueryDone(long ticks) => Record(ref _queries, ref _queryMicros, _querySeconds, ticks);

    private static void Record(ref long count, ref long micros, Histogram.Child? seconds, long ticks)
    {
        // A start stamped on another thread after the current loop batch began makes a duration a little negative
        // (LoopClock): it counts as zero.
        ticks = Math.Max(0, ticks);
        Interlocked.Increment(ref count);
        Interlocked.Add(ref micros, ToMicros(ticks));
        seconds?.Observe(ticks / (double)Stopwatch.Frequency);
    }

    /// <summary>Bytes read from and written to a client of this pool (added in batches, see ClientSession).</summary>
    public void AddBytes(long received, long sent)
    {
        if (received != 0) Interlocked.Add(ref _received, received);
        if (sent != 0) Interlocked.Add(ref _sent, sent);
    }

    public void Login() => Interlocked.Increment(ref _logins);

    // The prepared-statement cache (Statements/) reports here.
    public void PreparedHit() => Interlocked.Increment(ref _preparedHits);
    public void PreparedMiss() => Interlocked.Increment(ref _preparedMisses);
    public void PreparedEvicted() => Interlocked.Increment(ref _preparedEvictions);

    public void ServerConnected() => Interlocked.Increment(ref _serverConnects);
    public void ServerConnectFailed() => Interlocked.Increment(ref _serverConnectFailures);

    /// <summary>A server of this pool closed; counted by reason.</summary>
    public void ServerDisconnected(DisconnectReason reason) => _disconnects?[(int)reason].Inc();

    /// <summary>An error reached a client of this pool: <paramref name="kind"/> says who raised it.</summary>
    public void Error(ErrorKind kind, string sqlState) => _metrics?.Error(Key.Database, Key.User, kind, sqlState);

    /// <summary>PostgreSQL sent an ErrorResponse to a client of this pool (the frame, header included).</summary>
    public void ServerError(in System.Buffers.ReadOnlySequence<byte> frame)
    {
        if (_metrics is not null)
            _metrics.Error(Key.Database, Key.User, ErrorKind.Server, SqlStateClass.Of(frame));
    }

    private static long ToMicros(long ticks) => ticks * 1_000_000 / Stopwatch.Frequency;
}

/// <summary>Who raised an error a client saw (label <c>kind</c> of <c>tukipool_errors_total</c>).</summary>
public enum ErrorKind
{
    /// <summary>PostgreSQL's own ErrorResponse, forwarded.</summary>
    Server,
    /// <summary>Raised by the pooler during a session (query_wait, server unavailable, protocol violation).</summary>
    Pooler,
    /// <summary>A login the pooler refused (password, unknown database, limits).</summary>
    Login,
}
