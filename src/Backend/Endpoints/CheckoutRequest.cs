// The body of POST /api/v1/events/{id}/checkout/ and its validation.
namespace Tuki.Pool.Backend.Endpoints;

public sealed record CheckoutRequest(string? Email, string? TicketTier, int? Quantity)
{
    /// <summary>Most tickets one order may buy.</summary>
    public const int MaxQuantity = 10;

    /// <summary>Field name → problems; empty when the request is valid.</summary>
    public Dictionary<string, string[]> Validate()
    {
        var errors = new Dictionary<string, string[]>();
        if (!IsPlausibleEmail(Email))
            errors["email"] = ["must be an e-mail address such as name@example.com"];
        if (string.IsNullOrWhiteSpace(TicketTier) || TicketTier.Length > 100)
            errors["ticket_tier"] = ["must name a ticket tier of the event, e.g. \"general\""];
        if (Quantity is not (>= 1 and <= MaxQuantity))
            errors["quantity"] = [$"must be a whole number from 1 to {MaxQuantity}"];
        return errors;
    }

    // Deliberately simple: one @, something on each side, a dot in the domain, no spaces. Deliverability
    // is proven by sending mail, not by a regular expression.
    static bool IsPlausibleEmail(string? email)
    {
        if (string.IsNullOrEmpty(email) || email.Length > 254 || email.Any(char.IsWhiteSpace))
            return false;
        var at = email.IndexOf('@');
        return at > 0 && at == email.LastIndexOf('@') && email.IndexOf('.', at) > at + 1 && !email.EndsWith('.');
    }
}
