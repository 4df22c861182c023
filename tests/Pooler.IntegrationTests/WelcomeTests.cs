// The welcome a client gets after authentication (ParameterStatus messages) carries the server's values with the
// client's own startup settings in place of them. The pooler encodes it once per pool and settings table and reuses
// it: clients asking for different settings must each see their own, whatever order they log in.
using System.Text;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Pooler.IntegrationTests;

[Collection("postgres")]
public sealed class WelcomeTests(PostgresFixture pg)
{
    [Fact]
    public async Task ParameterStatus_PerClientSettings_NotAnotherClients()
    {
        var db = await pg.CreateDatabaseAsync("welcome_settings");
        await using var pooler = PoolerHarness.Start(pg, db, auth: "trust");

        Assert.Equal("alpha", (await WelcomeAsync(pooler, db, ("application_name", "alpha")))["application_name"]);
        Assert.Equal("alpha", (await WelcomeAsync(pooler, db, ("application_name", "alpha")))["application_name"]);
        var beta = await WelcomeAsync(pooler, db, ("application_name", "beta"), ("DateStyle", "SQL, DMY"));
        Assert.Equal("beta", beta["application_name"]);
        Assert.Equal("SQL, DMY", beta["DateStyle"]);
        var plain = await WelcomeAsync(pooler, db);
        Assert.Equal("", plain["application_name"]);
        Assert.Equal("ISO, MDY", plain["DateStyle"]);
        Assert.Equal("alpha", (await WelcomeAsync(pooler, db, ("application_name", "alpha")))["application_name"]);
    }

    private static async Task<Dictionary<string, string>> WelcomeAsync(PoolerHarness pooler, (string Database, string User, string Password) db,
        params (string Name, string Value)[] settings)
    {
        await using var raw = await RawClient.ConnectAsync(pooler.Port);
        await raw.SendStartupAsync([("user", db.User), ("database", db.Database), .. settings]);
        var reported = new Dictionary<string, string>();
        foreach (var (type, body) in await raw.ReadUntilReadyAsync())
        {
            if (type != 'S')
                continue;
            var text = Encoding.UTF8.GetString(body).Split('\0');
            reported[text[0]] = text[1];
        }
        await raw.SendAsync([(byte)'X', 0, 0, 0, 4]);
        return reported;
    }
}
