// Opens many connections with at most `parallel` logins in flight; a failed login leaves a null slot.
using Npgsql;

namespace Tuki.Pool.Bench.Logins;

internal static class LoginBatch
{
    private static string? _firstError;

    /// <summary>The first login error seen (the rest are usually the same one).</summary>
    public static string? FirstError => _firstError;

    public static async Task<NpgsqlConnection?[]> OpenAsync(NpgsqlDataSource dataSource, int count, int parallel)
    {
        var connections = new NpgsqlConnection?[count];
        using var gate = new SemaphoreSlim(parallel);
        var tasks = new Task[count];
        for (var i = 0; i < count; i++)
        {
            var slot = i;
            tasks[i] = Task.Run(async () =>
            {
                await gate.WaitAsync().ConfigureAwait(false);
                var connection = dataSource.CreateConnection();
                try
                {
                    await connection.OpenAsync().ConfigureAwait(false);
                    connections[slot] = connection;
                }
                catch (Exception ex) when (ex is NpgsqlException or TimeoutException or IOException)
                {
                    Interlocked.CompareExchange(ref _firstError, ex.Message, null);
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
                finally
                {
                    gate.Release();
                }
            });
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
        return connections;
    }
}
