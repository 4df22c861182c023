// The public list: seeded catalogue, 10 per page, private events hidden, bad page numbers refused.
using System.Net;
using System.Text.Json;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Backend.Tests;

[Collection("postgres")]
public sealed class EventListTests(PostgresFixture pg)
{
    [Fact]
    public async Task PublicList_SeededCatalogue_TenPerPageInDateOrder()
    {
        await using var host = await BackendHost.StartAsync(pg, "be_list");
        // The seed: 30 events, every tenth private.
        var publicCount = await host.ScalarAsync<long>("SELECT count(*) FROM events WHERE is_public");
        Assert.Equal(27, publicCount);

        var seen = new List<(long Id, DateTimeOffset StartsAt)>();
        foreach (var (page, expected) in new[] { (1, 10), (2, 10), (3, 7), (4, 0) })
        {
            using var json = await GetJsonAsync(host, $"/api/v1/events/public_list/?page={page}");
            var root = json.RootElement;
            Assert.Equal(page, root.GetProperty("page").GetInt32());
            Assert.Equal(10, root.GetProperty("page_size").GetInt32());
            Assert.Equal(27, root.GetProperty("total").GetInt64());
            Assert.Equal(3, root.GetProperty("total_pages").GetInt64());
            var events = root.GetProperty("events").EnumerateArray().ToList();
            Assert.Equal(expected, events.Count);
            foreach (var e in events)
            {
                seen.Add((e.GetProperty("id").GetInt64(), e.GetProperty("starts_at").GetDateTimeOffset()));
                var tiers = e.GetProperty("tiers").EnumerateArray().Select(t => t.GetProperty("name").GetString()).ToList();
                Assert.Equal(["general", "vip"], tiers);
            }
        }
        Assert.Equal(27, seen.Select(s => s.Id).Distinct().Count());
        Assert.Equal(seen.OrderBy(s => s.StartsAt).Select(s => s.Id), seen.Select(s => s.Id));
        var privateIds = await host.ScalarAsync<long[]>("SELECT array_agg(id) FROM events WHERE NOT is_public");
        Assert.Empty(seen.Select(s => s.Id).Intersect(privateIds));
    }

    [Fact]
    public async Task PublicList_NoPageGiven_FirstPage()
    {
        await using var host = await BackendHost.StartAsync(pg, "be_list1");
        using var json = await GetJsonAsync(host, "/api/v1/events/public_list/");
        Assert.Equal(1, json.RootElement.GetProperty("page").GetInt32());
        Assert.Equal(10, json.RootElement.GetProperty("events").GetArrayLength());
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("abc")]
    [InlineData("1.5")]
    [InlineData("99999999999")]
    public async Task PublicList_BadPage_400NamingPage(string page)
    {
        await using var host = await BackendHost.StartAsync(pg, "be_badpage");
        using var response = await host.Client.GetAsync($"/api/v1/events/public_list/?page={page}");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.True(json.RootElement.GetProperty("errors").TryGetProperty("page", out _));
    }

    [Fact]
    public async Task Healthz_AndMetrics_Answer()
    {
        await using var host = await BackendHost.StartAsync(pg, "be_health");
        using var health = await host.Client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        using var list = await host.Client.GetAsync("/api/v1/events/public_list/");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var metrics = await host.Client.GetStringAsync("/metrics");
        Assert.Contains("http_requests_received_total", metrics);
        Assert.Contains("/api/v1/events/public_list/", metrics);
    }

    static async Task<JsonDocument> GetJsonAsync(BackendHost host, string url)
    {
        using var response = await host.Client.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync());
    }
}
