// Schema and seed run at every start and by many instances at once: running them again must change nothing.
using Npgsql;
using Tuki.Pool.Backend.Data;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Backend.Tests;

[Collection("postgres")]
public sealed class SchemaTests(PostgresFixture pg)
{
    [Fact]
    public async Task Apply_ManyInstancesAtOnceThroughPooler_SeedsOnce()
    {
        await using var host = await BackendHost.StartAsync(pg, "be_schema"); // first apply: the app's start
        await using var pooler = PoolerHarness.Start(pg, host.Database);
        await using var dataSource = TicketsDataSource.Create(pooler.ConnectionString(host.Database, b => b.Pooling = true));

        await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() => Schema.ApplyAsync(dataSource))));

        Assert.Equal(30L, await host.ScalarAsync<long>("SELECT count(*) FROM events"));
        Assert.Equal(60L, await host.ScalarAsync<long>("SELECT count(*) FROM ticket_tiers"));
    }

    [Fact]
    public void DataSource_ConnectionStringAsksForSessionFeatures_TransactionPoolingSettingsWin()
    {
        using var dataSource = TicketsDataSource.Create(
            "Host=pooler;Database=app;Username=app;No Reset On Close=false;Max Auto Prepare=20;Maximum Pool Size=7;Keepalive=0");
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        Assert.True(settings.NoResetOnClose);
        Assert.Equal(0, settings.MaxAutoPrepare);
        Assert.False(settings.Multiplexing);
        Assert.Equal(7, settings.MaxPoolSize); // sizes stay the caller's choice
        Assert.Equal(0, settings.MinPoolSize);
        Assert.Equal(0, settings.KeepAlive); // given, so kept
        Assert.Equal(60, settings.ConnectionIdleLifetime); // not given: our default
    }
}
