// Many buyers at once for a few tickets, through the pooler: the row lock must let exactly the stock
// be sold, never more, and every sold ticket must have its order.
using System.Net;
using System.Net.Http.Json;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Backend.Tests;

[Collection("postgres")]
public sealed class CheckoutConcurrencyTests(PostgresFixture pg)
{
    [Fact]
    public async Task Checkout_FiftyBuyersForTwentyTickets_SellsExactlyTwenty()
    {
        await using var host = await BackendHost.StartAsync(pg, "be_conc");
        var eventId = await host.AddEventAsync("floor", tickets: 20);

        var statuses = await Task.WhenAll(Enumerable.Range(0, 50).Select(i => Task.Run(async () =>
        {
            using var response = await host.Client.PostAsJsonAsync($"/api/v1/events/{eventId}/checkout/",
                new { email = $"buyer{i}@example.com", ticket_tier = "floor", quantity = 1 });
            return response.StatusCode;
        })));

        Assert.Equal(20, statuses.Count(s => s == HttpStatusCode.Created));
        Assert.Equal(30, statuses.Count(s => s == HttpStatusCode.Conflict));
        Assert.Equal(0, await host.ScalarAsync<int>("SELECT remaining FROM ticket_tiers WHERE event_id = $1", eventId));
        Assert.Equal(20L, await host.ScalarAsync<long>("SELECT count(*) FROM orders WHERE event_id = $1", eventId));
        // 50 concurrent HTTP requests, yet the pooler never opened more than its pool of server connections.
        Assert.True(await pg.CountBackendsAsync(host.Database.Database, host.Database.User) <= BackendHost.PoolSize);
    }

    [Fact]
    public async Task Checkout_MixedQuantitiesUnderContention_SoldPlusRemainingEqualsInitial()
    {
        await using var host = await BackendHost.StartAsync(pg, "be_mixed");
        const int initial = 37;
        var eventId = await host.AddEventAsync("balcony", tickets: initial);

        var results = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => Task.Run(async () =>
        {
            var quantity = 1 + i % 3;
            using var response = await host.Client.PostAsJsonAsync($"/api/v1/events/{eventId}/checkout/",
                new { email = $"fan{i}@example.com", ticket_tier = "balcony", quantity });
            return (response.StatusCode, quantity);
        })));

        Assert.All(results, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.Created, HttpStatusCode.Conflict }));
        var sold = results.Where(r => r.StatusCode == HttpStatusCode.Created).Sum(r => r.quantity);
        var remaining = await host.ScalarAsync<int>("SELECT remaining FROM ticket_tiers WHERE event_id = $1", eventId);
        var ordered = await host.ScalarAsync<long>("SELECT coalesce(sum(quantity), 0) FROM orders WHERE event_id = $1", eventId);
        Assert.Equal(initial, sold + remaining);
        Assert.Equal(sold, ordered);
        // 40 buyers asking for 80 tickets in all: the tier must have been (nearly) emptied, not left half full.
        Assert.True(remaining < 3, $"remaining {remaining}: a buyer of 1-3 tickets was refused while enough were left");
    }
}
