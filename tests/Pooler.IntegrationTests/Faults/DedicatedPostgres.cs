// A PostgreSQL cluster owned by one fault test, so stopping or restarting it disturbs no other test. One database
// and one SCRAM role, fixed names (the cluster is thrown away with the test).
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests.Faults;

[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class DedicatedPostgres : IAsyncDisposable
{
    private readonly PostgresFixture.LocalCluster _cluster;

    private DedicatedPostgres(PostgresFixture.LocalCluster cluster, (string, string, string) database)
    {
        _cluster = cluster;
        Database = database;
    }

    public (string Database, string User, string Password) Database { get; }
    public int Port => _cluster.Port;

    public string SuperuserConnectionString => new NpgsqlConnectionStringBuilder
    {
        Host = "127.0.0.1", Port = Port, Username = "postgres", Password = _cluster.SuperuserPassword,
        Database = "postgres", Pooling = false, Timeout = 5,
    }.ConnectionString;

    /// <summary>Null when the run has no local PostgreSQL binaries (TUKI_TEST_PG or Docker): the caller skips.</summary>
    public static async Task<DedicatedPostgres?> StartAsync()
    {
        var cluster = await PostgresFixture.StartDedicatedClusterAsync();
        if (cluster is null)
            return null;
        var password = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
        var dedicated = new DedicatedPostgres(cluster, ("faults", "faults_user", password));
        await using var connection = new NpgsqlConnection(dedicated.SuperuserConnectionString);
        await connection.OpenAsync();
        foreach (var sql in new[]
                 {
                     "SET password_encryption = 'scram-sha-256'",
                     $"CREATE ROLE faults_user LOGIN PASSWORD '{password}'",
                     "CREATE DATABASE faults OWNER faults_user",
                 })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
        return dedicated;
    }

    public Task StopAsync() => _cluster.StopAsync();
    public Task StartAgainAsync() => _cluster.StartAgainAsync();
    public Task RestartAsync() => _cluster.RestartAsync();

    public ValueTask DisposeAsync() => _cluster.DisposeAsync();
}
