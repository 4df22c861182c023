// Liveness: answers without touching the database, so a slow or restarting database (or pooler)
// never gets healthy instances killed by their platform.
namespace Tuki.Pool.Backend.Endpoints;

public static class HealthEndpoints
{
    public static IEndpointRouteBuilder MapHealthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", () => Results.Ok(new { Status = "ok" }));
        return app;
    }
}
