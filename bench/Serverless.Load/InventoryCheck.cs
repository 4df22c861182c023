// After the load: does the database agree with itself and with what the clients were told?
//   sold (initial - remaining, summed over tiers) == tickets in orders   (no oversell, no stock lost)
//   every order id a client was given exists                              (no lost order)
using Npgsql;

namespace Tuki.Pool.Bench.ServerlessLoad;

public sealed record InventoryReport(long Initial, long Remaining, long OrderedTickets, long Orders, int ConfirmedOrders, long ConfirmedFound, long NegativeTiers)
{
    public long Sold => Initial - Remaining;
    public long LostOrders => ConfirmedOrders - ConfirmedFound;
    public bool Consistent => Sold == OrderedTickets && LostOrders == 0 && NegativeTiers == 0;
}

public static class InventoryCheck
{
    public static async Task<InventoryReport> RunAsync(string adminConnectionString, IReadOnlyList<long> confirmedOrderIds)
    {
        await using var connection = new NpgsqlConnection(adminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT (SELECT sum(initial_quantity) FROM ticket_tiers)::bigint,
                   (SELECT sum(remaining) FROM ticket_tiers)::bigint,
                   (SELECT coalesce(sum(quantity), 0) FROM orders)::bigint,
                   (SELECT count(*) FROM orders),
                   (SELECT count(*) FROM orders WHERE id = ANY($1)),
                   (SELECT count(*) FROM ticket_tiers WHERE remaining < 0)
            """, connection);
        command.Parameters.Add(new NpgsqlParameter { Value = confirmedOrderIds.ToArray() });
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new InventoryReport(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
            confirmedOrderIds.Count, reader.GetInt64(4), reader.GetInt64(5));
    }
}
