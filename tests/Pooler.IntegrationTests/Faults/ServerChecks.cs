// What "no leaked or dirty server" means, read from PostgreSQL itself: the pool's backends are all idle outside a
// transaction, there are no more of them than the pool's size, and nothing holds a lock in the database.
using Npgsql;

namespace Tuki.Pool.Pooler.IntegrationTests.Faults;

public static class ServerChecks
{
    /// <summary>Polls until the backends of (<paramref name="database"/>, <paramref name="user"/>) are clean, and
    /// returns null; or returns what was still wrong when <paramref name="timeout"/> ran out.</summary>
    public static async Task<string?> WaitUntilCleanAsync(string superuser, string database, string user, int poolSize, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var problem = await ProblemAsync(superuser, database, user, poolSize);
            if (problem is null || DateTime.UtcNow > deadline)
                return problem;
            await Task.Delay(100);
        }
    }

    private static async Task<string?> ProblemAsync(string superuser, string database, string user, int poolSize)
    {
        await using var connection = new NpgsqlConnection(superuser);
        await connection.OpenAsync();
        var backends = new List<string>();
        await using (var command = new NpgsqlCommand(
            """
            SELECT pid, coalesce(state, '?'), xact_start IS NOT NULL, left(query, 60)
            FROM pg_stat_activity WHERE datname = $1 AND usename = $2 AND backend_type = 'client backend'
            """, connection))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = database });
            command.Parameters.Add(new NpgsqlParameter { Value = user });
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
                if (reader.GetString(1) != "idle" || reader.GetBoolean(2))
                    backends.Add($"pid {reader.GetInt32(0)} {reader.GetString(1)} in-transaction={reader.GetBoolean(2)} query={reader.GetString(3)}");
                else
                    backends.Add("");
        }
        var dirty = backends.Where(b => b.Length > 0).ToList();
        if (dirty.Count > 0)
            return "dirty backends: " + string.Join("; ", dirty);
        if (backends.Count > poolSize)
            return $"{backends.Count} backends for a pool of {poolSize}";

        await using var locks = new NpgsqlCommand(
            "SELECT count(*)::int FROM pg_locks l JOIN pg_database d ON d.oid = l.database WHERE d.datname = $1", connection);
        locks.Parameters.Add(new NpgsqlParameter { Value = database });
        var count = (int)(await locks.ExecuteScalarAsync())!;
        return count > 0 ? $"{count} locks held in {database}" : null;
    }

    /// <summary>Client backends of the database and user, whatever their state.</summary>
    public static async Task<List<int>> BackendPidsAsync(string superuser, string database, string user)
    {
        await using var connection = new NpgsqlConnection(superuser);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND usename = $2 AND backend_type = 'client backend'", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = database });
        command.Parameters.Add(new NpgsqlParameter { Value = user });
        var pids = new List<int>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
            pids.Add(reader.GetInt32(0));
        return pids;
    }
}
