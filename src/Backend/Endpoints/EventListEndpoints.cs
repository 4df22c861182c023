// GET /api/v1/events/public_list/?page=N: the public events, 10 per page, with their tiers and stock.
using Tuki.Pool.Backend.Data;

namespace Tuki.Pool.Backend.Endpoints;

public static class EventListEndpoints
{
    public static IEndpointRouteBuilder MapEventListEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/v1/events/public_list/", ListAsync);
        return app;
    }

    // page is read as a string so "abc" or "0" gets our own 400 with the field named, not a bare one.
    static async Task<IResult> ListAsync(string? page, EventCatalog catalog, CancellationToken cancellationToken)
    {
        var number = 1;
        if (page is not null && (!int.TryParse(page, System.Globalization.NumberStyles.None, null, out number) || number < 1))
            return Results.ValidationProblem(new Dictionary<string, string[]> { ["page"] = ["must be a whole number from 1 up"] });
        return Results.Ok(await catalog.GetPublicPageAsync(number, cancellationToken));
    }
}
