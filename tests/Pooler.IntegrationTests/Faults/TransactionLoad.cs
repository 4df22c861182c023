// Load for fault tests: workers that each keep one client connection to the pooler and run short write
// transactions in a loop, reconnecting after any error. Every attempt is recorded with its outcome and time, so a
// test can count transactions lost to a fault, check that committed ones are really there, and measure recovery.
using System.Collections.Concurrent;
using System.Diagnostics;
using Npgsql;

namespace Tuki.Pool.Pooler.IntegrationTests.Faults;

public sealed class TransactionLoad
{
    /// <summary>Failed: the transaction was lost (it had reached a server, or may have). Refused: it never reached
    /// one (the pooler could not connect, 08006, or PostgreSQL refused new sessions, 57P03). ConnectFailed: the
    /// client's own login failed.</summary>
    public enum Outcome { Committed, Failed, Refused, ConnectFailed }

    /// <summary>One attempt: which worker, its sequence number, when it ended (since the load started), how.</summary>
    public readonly record struct Attempt(int Worker, int Sequence, TimeSpan At, Outcome Outcome, string? Error);

    private readonly string _connectionString;
    private readonly ConcurrentQueue<Attempt> _attempts = new();
    private readonly Stopwatch _clock = new();

    public TransactionLoad(string connectionString) => _connectionString = connectionString;

    public IReadOnlyCollection<Attempt> Attempts => _attempts;
    public TimeSpan Now => _clock.Elapsed;

    /// <summary>Creates the table the workers write to (one row per committed transaction).</summary>
    public static async Task CreateTableAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("CREATE TABLE IF NOT EXISTS load (worker int, seq int, PRIMARY KEY (worker, seq))", connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Runs <paramref name="workers"/> workers until <paramref name="stop"/> is cancelled.</summary>
    public Task RunAsync(int workers, CancellationToken stop)
    {
        _clock.Start();
        return Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(() => WorkerAsync(w, stop))));
    }

    private async Task WorkerAsync(int worker, CancellationToken stop)
    {
        var sequence = 0;
        NpgsqlConnection? connection = null;
        while (!stop.IsCancellationRequested)
        {
            if (connection is null)
            {
                try
                {
                    connection = new NpgsqlConnection(_connectionString);
                    await connection.OpenAsync(stop);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
                {
                    _attempts.Enqueue(new Attempt(worker, -1, Now, Outcome.ConnectFailed, Describe(e)));
                    await DisposeQuietly(connection);
                    connection = null;
                    await Pause(stop);
                    continue;
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            var seq = ++sequence;
            try
            {
                // No cancellation token inside: a transaction, once started, runs to its end or its error.
                await using var tx = await connection.BeginTransactionAsync(CancellationToken.None);
                await using (var insert = new NpgsqlCommand("INSERT INTO load VALUES ($1, $2)", connection, tx))
                {
                    insert.Parameters.Add(new NpgsqlParameter { Value = worker });
                    insert.Parameters.Add(new NpgsqlParameter { Value = seq });
                    await insert.ExecuteNonQueryAsync(CancellationToken.None);
                }
                await tx.CommitAsync(CancellationToken.None);
                _attempts.Enqueue(new Attempt(worker, seq, Now, Outcome.Committed, null));
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException or IOException)
            {
                // Refused before reaching a server: PostgreSQL not accepting sessions (57P03) or the pooler unable
                // to connect (its 08006 says so); its other 08006 is a server lost mid-transaction, a lost one.
                var refused = e is PostgresException { SqlState: "57P03" }
                    || e is PostgresException { SqlState: "08006" } pe && pe.MessageText.Contains("could not connect", StringComparison.Ordinal);
                _attempts.Enqueue(new Attempt(worker, seq, Now, refused ? Outcome.Refused : Outcome.Failed, Describe(e)));
                await DisposeQuietly(connection);
                connection = null;
                await Pause(stop);
            }
        }
        await DisposeQuietly(connection);
    }

    private static string Describe(Exception e) => e is PostgresException pe ? $"{pe.SqlState}: {pe.MessageText}" : $"{e.GetType().Name}: {e.Message}";

    private static async Task Pause(CancellationToken stop)
    {
        try { await Task.Delay(50, stop); }
        catch (OperationCanceledException) { }
    }

    private static async Task DisposeQuietly(NpgsqlConnection? connection)
    {
        if (connection is null)
            return;
        try { await connection.DisposeAsync(); }
        catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException) { }
    }

    public int Count(Outcome outcome) => _attempts.Count(a => a.Outcome == outcome);

    /// <summary>Time from <paramref name="fault"/> to the first commit after it, and to the moment every worker
    /// has committed again; null when that never happened.</summary>
    public (TimeSpan? First, TimeSpan? All) Recovery(TimeSpan fault, int workers)
    {
        var after = _attempts.Where(a => a.Outcome == Outcome.Committed && a.At > fault).ToList();
        if (after.Count == 0)
            return (null, null);
        var first = after.Min(a => a.At) - fault;
        var perWorker = after.GroupBy(a => a.Worker).Select(g => g.Min(a => a.At)).ToList();
        return (first, perWorker.Count == workers ? perWorker.Max() - fault : null);
    }

    /// <summary>Checks the table against the record: every commit the client saw is there; a row whose commit the
    /// client did not see is possible only for a transaction that failed (the reply lost with the connection).</summary>
    public async Task<(int Rows, int Unconfirmed)> VerifyAsync(string connectionString)
    {
        var rows = new HashSet<(int, int)>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using (var command = new NpgsqlCommand("SELECT worker, seq FROM load", connection))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync())
                rows.Add((reader.GetInt32(0), reader.GetInt32(1)));
        var committed = _attempts.Where(a => a.Outcome == Outcome.Committed).Select(a => (a.Worker, a.Sequence)).ToHashSet();
        var failed = _attempts.Where(a => a.Outcome is Outcome.Failed or Outcome.Refused).Select(a => (a.Worker, a.Sequence)).ToHashSet();
        var missing = committed.Where(c => !rows.Contains(c)).ToList();
        if (missing.Count > 0)
            throw new Xunit.Sdk.XunitException($"{missing.Count} transactions reported committed are missing, e.g. {missing[0]}");
        var unconfirmed = rows.Where(r => !committed.Contains(r)).ToList();
        var phantom = unconfirmed.Where(r => !failed.Contains(r)).ToList();
        if (phantom.Count > 0)
            throw new Xunit.Sdk.XunitException($"{phantom.Count} rows were never attempted, e.g. {phantom[0]}");
        return (rows.Count, unconfirmed.Count);
    }
}
