// The checkout transaction: lock the tier row, check inventory, insert the order, decrement stock.
// The row lock (SELECT ... FOR UPDATE) serializes buyers of one tier, so stock can never go below zero
// and every sold ticket has its order; buyers of other tiers are not blocked.
using Npgsql;

namespace Tuki.Pool.Backend.Data;

public enum CheckoutOutcome
{
    Created,
    UnknownEvent,
    UnknownTier,
    SoldOut,
}

/// <summary>What a checkout did. <see cref="Remaining"/> is the tier's stock after the checkout (or, when
/// sold out, the stock that was left and was not enough).</summary>
public sealed record CheckoutResult(CheckoutOutcome Outcome, long? OrderId = null, int? Remaining = null, long? TotalCents = null);

public sealed class CheckoutStore(NpgsqlDataSource dataSource)
{
    public async Task<CheckoutResult> CheckoutAsync(long eventId, string tier, string email, int quantity, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(quantity, 1);
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // Read committed is enough: the row lock, not the isolation level, protects the stock.
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);

        long tierId;
        int remaining, priceCents;
        await using (var lockTier = new NpgsqlCommand(
            "SELECT id, remaining, price_cents FROM ticket_tiers WHERE event_id = $1 AND name = $2 FOR UPDATE",
            connection, transaction))
        {
            lockTier.Parameters.Add(new NpgsqlParameter { Value = eventId });
            lockTier.Parameters.Add(new NpgsqlParameter { Value = tier });
            await using var reader = await lockTier.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                await reader.DisposeAsync();
                var outcome = await EventExistsAsync(connection, transaction, eventId, cancellationToken)
                    ? CheckoutOutcome.UnknownTier
                    : CheckoutOutcome.UnknownEvent;
                await transaction.RollbackAsync(cancellationToken);
                return new CheckoutResult(outcome);
            }
            (tierId, remaining, priceCents) = (reader.GetInt64(0), reader.GetInt32(1), reader.GetInt32(2));
        }

        if (remaining < quantity)
        {
            await transaction.RollbackAsync(cancellationToken);
            return new CheckoutResult(CheckoutOutcome.SoldOut, Remaining: remaining);
        }

        var totalCents = (long)priceCents * quantity;
        long orderId;
        // Insert and decrement in one round trip; the row is already ours, so the values computed from
        // the locked read are still true.
        await using (var batch = new NpgsqlBatch(connection, transaction))
        {
            var insert = new NpgsqlBatchCommand(
                "INSERT INTO orders (event_id, tier_id, email, quantity, total_cents) VALUES ($1, $2, $3, $4, $5) RETURNING id");
            insert.Parameters.Add(new NpgsqlParameter { Value = eventId });
            insert.Parameters.Add(new NpgsqlParameter { Value = tierId });
            insert.Parameters.Add(new NpgsqlParameter { Value = email });
            insert.Parameters.Add(new NpgsqlParameter { Value = quantity });
            insert.Parameters.Add(new NpgsqlParameter { Value = totalCents });
            var decrement = new NpgsqlBatchCommand("UPDATE ticket_tiers SET remaining = remaining - $1 WHERE id = $2");
            decrement.Parameters.Add(new NpgsqlParameter { Value = quantity });
            decrement.Parameters.Add(new NpgsqlParameter { Value = tierId });
            batch.BatchCommands.Add(insert);
            batch.BatchCommands.Add(decrement);
            orderId = (long)(await batch.ExecuteScalarAsync(cancellationToken))!;
        }
        await transaction.CommitAsync(cancellationToken);
        return new CheckoutResult(CheckoutOutcome.Created, orderId, remaining - quantity, totalCents);
    }

    static async Task<bool> EventExistsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, long eventId, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM events WHERE id = $1)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter { Value = eventId });
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }
}
