// Reads the public event list, a page at a time, with each event's ticket tiers.
using Npgsql;

namespace Tuki.Pool.Backend.Data;

public sealed record TierSummary(string Name, int PriceCents, int Remaining);

public sealed record EventSummary(long Id, string Name, string Venue, DateTimeOffset StartsAt, IReadOnlyList<TierSummary> Tiers);

public sealed record EventPage(int Page, int PageSize, long Total, IReadOnlyList<EventSummary> Events)
{
    public long TotalPages => (Total + PageSize - 1) / PageSize;
}

public sealed class EventCatalog(NpgsqlDataSource dataSource)
{
    public const int PageSize = 10;

    /// <summary>Page <paramref name="page"/> (1-based) of the public events by start time. The count and the
    /// page travel as one batch: one round trip, one implicit transaction, so total and rows agree.</summary>
    public async Task<EventPage> GetPublicPageAsync(int page, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(page, 1);
        await using var batch = dataSource.CreateBatch();
        batch.BatchCommands.Add(new NpgsqlBatchCommand("SELECT count(*) FROM events WHERE is_public"));
        var rows = new NpgsqlBatchCommand("""
            SELECT e.id, e.name, e.venue, e.starts_at, t.name, t.price_cents, t.remaining
            FROM (SELECT id, name, venue, starts_at FROM events WHERE is_public
                  ORDER BY starts_at, id LIMIT $1 OFFSET $2) AS e
            LEFT JOIN ticket_tiers t ON t.event_id = e.id
            ORDER BY e.starts_at, e.id, t.price_cents, t.name
            """);
        rows.Parameters.Add(new NpgsqlParameter { Value = PageSize });
        rows.Parameters.Add(new NpgsqlParameter { Value = (long)(page - 1) * PageSize });
        batch.BatchCommands.Add(rows);

        await using var reader = await batch.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        var total = reader.GetInt64(0);
        await reader.NextResultAsync(cancellationToken);

        var events = new List<EventSummary>();
        List<TierSummary>? tiers = null;
        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetInt64(0);
            if (events.Count == 0 || events[^1].Id != id)
            {
                tiers = [];
                events.Add(new EventSummary(id, reader.GetString(1), reader.GetString(2), reader.GetFieldValue<DateTimeOffset>(3), tiers));
            }
            if (!reader.IsDBNull(4))
                tiers!.Add(new TierSummary(reader.GetString(4), reader.GetInt32(5), reader.GetInt32(6)));
        }
        return new EventPage(page, PageSize, total, events);
    }
}
