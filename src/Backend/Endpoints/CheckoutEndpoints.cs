// POST /api/v1/events/{id}/checkout/: buy tickets of one tier. 201 with the order, 400 for bad input,
// 404 for an unknown event, 409 when the tier has fewer tickets left than asked for.
using Tuki.Pool.Backend.Data;

namespace Tuki.Pool.Backend.Endpoints;

public static class CheckoutEndpoints
{
    public static IEndpointRouteBuilder MapCheckoutEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/v1/events/{id:long}/checkout/", CheckoutAsync);
        return app;
    }

    static async Task<IResult> CheckoutAsync(long id, CheckoutRequest? request, CheckoutStore store, CancellationToken cancellationToken)
    {
        if (request is null)
            return Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "A JSON body is required: {\"email\", \"ticket_tier\", \"quantity\"}.");
        var errors = request.Validate();
        if (errors.Count > 0)
            return Results.ValidationProblem(errors);

        var result = await store.CheckoutAsync(id, request.TicketTier!, request.Email!, request.Quantity!.Value, cancellationToken);
        BackendMetrics.Checkouts.WithLabels(result.Outcome.ToString()).Inc();
        if (result.Outcome == CheckoutOutcome.Created)
            BackendMetrics.TicketsSold.Inc(request.Quantity.Value);
        return result.Outcome switch
        {
            CheckoutOutcome.Created => Results.Created($"/api/v1/orders/{result.OrderId}", new
            {
                OrderId = result.OrderId,
                EventId = id,
                TicketTier = request.TicketTier,
                request.Quantity,
                result.TotalCents,
                result.Remaining,
            }),
            CheckoutOutcome.UnknownEvent => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: $"Event {id} does not exist."),
            CheckoutOutcome.UnknownTier => Results.ValidationProblem(
                new Dictionary<string, string[]> { ["ticket_tier"] = [$"event {id} has no tier \"{request.TicketTier}\""] }),
            CheckoutOutcome.SoldOut => Results.Problem(statusCode: StatusCodes.Status409Conflict,
                title: "Not enough tickets left in this tier.",
                extensions: new Dictionary<string, object?> { ["remaining"] = result.Remaining }),
            _ => throw new InvalidOperationException($"unhandled checkout outcome {result.Outcome}"),
        };
    }
}
