// The service's own Prometheus instruments (HTTP request metrics come from prometheus-net's middleware).
using Prometheus;

namespace Tuki.Pool.Backend.Endpoints;

public static class BackendMetrics
{
    public static readonly Counter Checkouts = Metrics.CreateCounter(
        "tickets_checkouts_total", "Checkout attempts that reached the database, by outcome.",
        new CounterConfiguration { LabelNames = ["outcome"] });

    public static readonly Counter TicketsSold = Metrics.CreateCounter(
        "tickets_sold_total", "Tickets sold by completed checkouts.");
}
