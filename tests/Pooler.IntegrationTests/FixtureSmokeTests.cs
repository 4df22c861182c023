// Smoke tests of PostgresFixture itself: a fresh database and SCRAM role accept a real client,
// straight to PostgreSQL (no pooler), so a failure here points at the environment, not the pooler.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests;

[Collection("postgres")]
public sealed class FixtureSmokeTests(PostgresFixture postgres)
{
    [Fact]
    public async Task CreateDatabase_NewRole_SelectOneSucceeds()
    {
        var (database, user, password) = await postgres.CreateDatabaseAsync("smoke");

        await using var connection = new NpgsqlConnection(postgres.ConnectionString(database, user, password));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select 1", connection);

        Assert.Equal(1, (int)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task CreateDatabase_Password_StoredAsScramVerifier()
    {
        var (_, user, _) = await postgres.CreateDatabaseAsync("smoke_scram");

        await using var connection = new NpgsqlConnection(postgres.SuperuserConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("select rolpassword from pg_authid where rolname = $1", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = user });

        Assert.StartsWith("SCRAM-SHA-256$", (string)(await command.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task CreateDatabase_WrongPassword_Rejected28P01()
    {
        var (database, user, _) = await postgres.CreateDatabaseAsync("smoke_auth");

        await using var connection = new NpgsqlConnection(postgres.ConnectionString(database, user, "not-the-password"));
        var error = await Assert.ThrowsAsync<PostgresException>(() => connection.OpenAsync());

        Assert.Equal("28P01", error.SqlState);
    }

    [Fact]
    public async Task CreateDatabase_TwoCalls_NamesDiffer()
    {
        var first = await postgres.CreateDatabaseAsync("smoke_twice");
        var second = await postgres.CreateDatabaseAsync("smoke_twice");

        Assert.NotEqual(first.Database, second.Database);
        Assert.NotEqual(first.User, second.User);
        Assert.NotEqual(first.Database, first.User);
    }

    [Fact]
    public async Task CountBackends_OneOpenConnection_CountsOne_ButNotTheTestsOwnDirectOnes()
    {
        var (database, user, password) = await postgres.CreateDatabaseAsync("smoke_count");

        // As a pooler's server connection looks: any application name but the tests' own marker.
        var asServer = new NpgsqlConnectionStringBuilder(postgres.ConnectionString(database, user, password)) { ApplicationName = "server" };
        await using var connection = new NpgsqlConnection(asServer.ConnectionString);
        await connection.OpenAsync();
        await using var direct = new NpgsqlConnection(postgres.ConnectionString(database, user, password));
        await direct.OpenAsync();

        Assert.Equal(1, await postgres.CountBackendsAsync(database, user));
    }

    [Fact]
    public void FindTool_UnknownName_ReturnsNull()
    {
        Assert.Null(postgres.FindTool("no-such-postgres-tool"));
    }
}
