// Client authentication at the pooler: SCRAM, md5, trust; wrong password, unknown user, unknown database.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;
using static Tuki.Pool.Pooler.IntegrationTests.TransactionPoolingTests;

namespace Tuki.Pool.Pooler.IntegrationTests;

[Collection("postgres")]
public sealed class AuthTests(PostgresFixture pg)
{
    [Fact]
    public async Task Scram_RightPassword_LogsIn()
    {
        var db = await pg.CreateDatabaseAsync("auth_ok");
        await using var pooler = PoolerHarness.Start(pg, db);
        await using var connection = await pooler.OpenAsync(db);
        Assert.Equal(1, await Scalar(connection, "SELECT 1"));
    }

    [Fact]
    public async Task Scram_WrongPassword_Refused28P01()
    {
        var db = await pg.CreateDatabaseAsync("auth_bad");
        await using var pooler = PoolerHarness.Start(pg, db);
        var error = await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db, b => b.Password = "not-the-password"));
        Assert.Equal("28P01", error.SqlState);
    }

    [Fact]
    public async Task UnknownUser_RefusedExactlyLikeWrongPassword()
    {
        var db = await pg.CreateDatabaseAsync("auth_nouser");
        await using var pooler = PoolerHarness.Start(pg, db);
        var error = await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db, b => { b.Username = "nobody_here"; b.Password = "x"; }));
        Assert.Equal("28P01", error.SqlState);
        Assert.Equal("password authentication failed for user \"nobody_here\"", error.MessageText);
    }

    [Fact]
    public async Task UnknownDatabase_Refused3D000()
    {
        var db = await pg.CreateDatabaseAsync("auth_nodb");
        await using var pooler = PoolerHarness.Start(pg, db);
        var error = await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db, b => b.Database = "no_such_db"));
        Assert.Equal("3D000", error.SqlState);
    }

    [Fact]
    public async Task Md5Auth_RightAndWrongPassword()
    {
        var db = await pg.CreateDatabaseAsync("auth_md5");
        await using var pooler = PoolerHarness.Start(pg, db, auth: "md5");
        await using (var connection = await pooler.OpenAsync(db))
            Assert.Equal(1, await Scalar(connection, "SELECT 1"));
        var error = await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db, b => b.Password = "wrong"));
        Assert.Equal("28P01", error.SqlState);
    }

    [Fact]
    public async Task TrustAuth_NoPasswordAsked()
    {
        var db = await pg.CreateDatabaseAsync("auth_trust");
        await using var pooler = PoolerHarness.Start(pg, db, auth: "trust");
        await using var connection = await pooler.OpenAsync(db, b => b.Password = null);
        Assert.Equal(1, await Scalar(connection, "SELECT 1"));
    }

    [Fact]
    public async Task ServerPasswordWrongInConfig_ClientGetsClearError()
    {
        var db = await pg.CreateDatabaseAsync("auth_srvbad");
        // The pooler accepts the client with the configured password, but PostgreSQL refuses it.
        await using (var connection = new NpgsqlConnection(pg.SuperuserConnectionString))
        {
            await connection.OpenAsync();
            await Execute(connection, $"ALTER ROLE \"{db.User}\" PASSWORD 'changed-on-server'");
        }
        await using var pooler = PoolerHarness.Start(pg, db);
        var error = await Assert.ThrowsAsync<PostgresException>(() => pooler.OpenAsync(db));
        Assert.Equal("08001", error.SqlState);
        Assert.Contains("could not log in to PostgreSQL", error.MessageText);
    }
}
