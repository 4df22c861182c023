// Reference backend: the ticketing service a serverless platform scales out, and the realistic client of
// the pooler. Connection string: ConnectionStrings__Pooler (environment) — see Data/TicketsDataSource.cs
// for the Npgsql settings that transaction pooling needs.
using System.Text.Json;
using Npgsql;
using Prometheus;
using Tuki.Pool.Backend.Data;
using Tuki.Pool.Backend.Endpoints;

namespace Tuki.Pool.Backend;

public sealed class Program
{
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower);
        builder.Services.AddProblemDetails();
        // Resolved after Build, so configuration added by a test host is seen too.
        builder.Services.AddSingleton(sp => TicketsDataSource.Create(
            sp.GetRequiredService<IConfiguration>().GetConnectionString(TicketsDataSource.ConnectionStringName)
            ?? throw new InvalidOperationException(
                $"No connection string: set ConnectionStrings__{TicketsDataSource.ConnectionStringName} to the pooler, " +
                "e.g. Host=pooler;Port=6432;Database=app;Username=app;Password=...")));
        builder.Services.AddSingleton<EventCatalog>();
        builder.Services.AddSingleton<CheckoutStore>();

        var app = builder.Build();
        // An unreadable body (bad JSON, wrong types) is the client's fault: its 400, not a 500 — also in
        // Development, where minimal APIs throw BadHttpRequestException instead of answering.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            StatusCodeSelector = e => e is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError,
        });
        app.UseStatusCodePages();
        app.UseHttpMetrics();
        app.MapHealthEndpoints();
        app.MapEventListEndpoints();
        app.MapCheckoutEndpoints();
        app.MapMetrics();

        // Schema and seed before taking traffic; retried for a minute while the pooler comes up.
        await Schema.ApplyWithRetryAsync(app.Services.GetRequiredService<NpgsqlDataSource>(), attempts: 30, TimeSpan.FromSeconds(2));
        await app.RunAsync();
    }
}
