// One checkout at a time: what a buyer gets back, what lands in the database, and clear 4xx answers.
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Backend.Tests;

[Collection("postgres")]
public sealed class CheckoutTests(PostgresFixture pg)
{
    [Fact]
    public async Task Checkout_Valid_201AndStockDecremented()
    {
        await using var host = await BackendHost.StartAsync(pg, "be_co");
        var eventId = await host.AddEventAsync("general", tickets: 10, priceCents: 2500);

        using var response = await host.Client.PostAsJsonAsync($"/api/v1/events/{eventId}/checkout/",
            new { email = "ana@example.com", ticket_tier = "general", quantity = 3 });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var orderId = json.RootElement.GetProperty("order_id").GetInt64();
        Assert.Equal(7, json.RootElement.GetProperty("remaining").GetInt32());
        Assert.Equal(7500, json.RootElement.GetProperty("total_cents").GetInt64());
        Assert.Equal($"/api/v1/orders/{orderId}", response.Headers.Location?.ToString());
        Assert.Equal(7, await host.ScalarAsync<int>("SELECT remaining FROM ticket_tiers WHERE event_id = $1", eventId));
        Assert.Equal("ana@example.com", await host.ScalarAsync<string>("SELECT email FROM orders WHERE id = $1 AND quantity = 3", orderId));
    }

    [Fact]
    public async Task Checkout_MoreThanLeft_409WithRemainingAndNothingWritten()
    {
        await using var host = await BackendHost.StartAsync(pg, "be_sold");
        var eventId = await host.AddEventAsync("general", tickets: 2);

        using var response = await host.Client.PostAsJsonAsync($"/api/v1/events/{eventId}/checkout/",
            new { email = "ana@example.com", ticket_tier = "general", quantity = 3 });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, json.RootElement.GetProperty("remaining").GetInt32());
        Assert.Equal(2, await host.ScalarAsync<int>("SELECT remaining FROM ticket_tiers WHERE event_id = $1", eventId));
        Assert.Equal(0L, await host.ScalarAsync<long>("SELECT count(*) FROM orders WHERE event_id = $1", eventId));
    }

    [Fact]
    public async Task Checkout_UnknownEvent_404()
    {
        await using var host = await BackendHost.StartAsync(pg, "be_404");
        using var response = await host.Client.PostAsJsonAsync("/api/v1/events/987654321/checkout/",
            new { email = "ana@example.com", ticket_tier = "general", quantity = 1 });
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Checkout_UnknownTier_400NamingTicketTier()
    {
        await using var host = await BackendHost.StartAsync(pg, "be_tier");
        var eventId = await host.AddEventAsync("general", tickets: 5);
        using var response = await host.Client.PostAsJsonAsync($"/api/v1/events/{eventId}/checkout/",
            new { email = "ana@example.com", ticket_tier = "platinum", quantity = 1 });
        await AssertFieldErrorsAsync(response, "ticket_tier");
    }

    [Theory]
    [InlineData("""{"email":"not-an-email","ticket_tier":"general","quantity":1}""", "email")]
    [InlineData("""{"email":"a@b","ticket_tier":"general","quantity":1}""", "email")]
    [InlineData("""{"email":"ana@example.com","ticket_tier":"general","quantity":0}""", "quantity")]
    [InlineData("""{"email":"ana@example.com","ticket_tier":"general","quantity":11}""", "quantity")]
    [InlineData("""{"email":"ana@example.com","ticket_tier":"","quantity":1}""", "ticket_tier")]
    [InlineData("""{"email":"ana@example.com","quantity":1}""", "ticket_tier")]
    [InlineData("""{}""", "email", "ticket_tier", "quantity")]
    public async Task Checkout_InvalidBody_400NamingFieldsAndNothingWritten(string body, params string[] fields)
    {
        await using var host = await BackendHost.StartAsync(pg, "be_valid");
        var eventId = await host.AddEventAsync("general", tickets: 5);
        using var response = await PostRawAsync(host, eventId, body);
        await AssertFieldErrorsAsync(response, fields);
        Assert.Equal(5, await host.ScalarAsync<int>("SELECT remaining FROM ticket_tiers WHERE event_id = $1", eventId));
    }

    [Theory]
    [InlineData("")]
    [InlineData("{not json")]
    [InlineData("""{"email":"ana@example.com","ticket_tier":"general","quantity":"many"}""")]
    public async Task Checkout_UnreadableBody_400(string body)
    {
        await using var host = await BackendHost.StartAsync(pg, "be_json");
        var eventId = await host.AddEventAsync("general", tickets: 5);
        using var response = await PostRawAsync(host, eventId, body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    static Task<HttpResponseMessage> PostRawAsync(BackendHost host, long eventId, string body) =>
        host.Client.PostAsync($"/api/v1/events/{eventId}/checkout/", new StringContent(body, Encoding.UTF8, "application/json"));

    static async Task AssertFieldErrorsAsync(HttpResponseMessage response, params string[] fields)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var errors = json.RootElement.GetProperty("errors").EnumerateObject().Select(p => p.Name).Order().ToArray();
        Assert.Equal(fields.Order().ToArray(), errors);
    }
}
