// Samples, while the load runs, the server connections PostgreSQL sees for the database (pg_stat_activity,
// through a separate superuser connection) and the client connections this generator holds open to the
// target port (the sampler's own connection goes to PostgreSQL's port: in the direct run it counts too).
using Npgsql;

namespace Tuki.Pool.Bench.ServerlessLoad;

public sealed class ServerSampler(string adminConnectionString, string database, int targetPort)
{
    public int MaxServerConnections { get; private set; }
    public int MaxClientConnections { get; private set; }
    public int Samples { get; private set; }

    public async Task RunAsync(TimeSpan period, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(
            "SELECT count(*)::int FROM pg_stat_activity WHERE datname = $1 AND backend_type = 'client backend' AND pid <> pg_backend_pid()",
            connection);
        command.Parameters.Add(new NpgsqlParameter { Value = database });
        using var timer = new PeriodicTimer(period);
        try
        {
            do
            {
                var servers = (int)(await command.ExecuteScalarAsync(cancellationToken))!;
                var clients = OwnTcpConnections.CountTo(targetPort);
                MaxServerConnections = Math.Max(MaxServerConnections, servers);
                MaxClientConnections = Math.Max(MaxClientConnections, clients);
                Samples++;
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
