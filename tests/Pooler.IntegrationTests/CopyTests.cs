// COPY in both directions and large results, streamed through the pooler.
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;
using static Tuki.Pool.Pooler.IntegrationTests.TransactionPoolingTests;

namespace Tuki.Pool.Pooler.IntegrationTests;

[Collection("postgres")]
public sealed class CopyTests(PostgresFixture pg)
{
    [Fact]
    public async Task CopyIn_ThenCopyOut_RoundTripsRows()
    {
        var db = await pg.CreateDatabaseAsync("copy_rt");
        await using var pooler = PoolerHarness.Start(pg, db);
        await using var connection = await pooler.OpenAsync(db);
        await Execute(connection, "CREATE TABLE items (id int, name text)");

        await using (var writer = await connection.BeginBinaryImportAsync("COPY items (id, name) FROM STDIN (FORMAT BINARY)"))
        {
            for (var i = 0; i < 100_000; i++)
            {
                await writer.StartRowAsync();
                await writer.WriteAsync(i);
                await writer.WriteAsync("item-" + i);
            }
            Assert.Equal(100_000UL, await writer.CompleteAsync());
        }
        Assert.Equal(100_000L, await Scalar(connection, "SELECT count(*) FROM items"));

        long rows = 0, sum = 0;
        await using (var reader = await connection.BeginBinaryExportAsync("COPY items (id, name) TO STDOUT (FORMAT BINARY)"))
        {
            while (await reader.StartRowAsync() != -1)
            {
                sum += await reader.ReadAsync<int>();
                Assert.StartsWith("item-", await reader.ReadAsync<string>());
                rows++;
            }
        }
        Assert.Equal(100_000, rows);
        Assert.Equal(99_999L * 100_000 / 2, sum);

        using (var text = await connection.BeginTextExportAsync("COPY (SELECT id FROM items WHERE id < 3 ORDER BY id) TO STDOUT"))
            Assert.Equal("0\n1\n2\n", await text.ReadToEndAsync());

        // The connection keeps working after COPY, on whatever server.
        Assert.Equal(1, await Scalar(connection, "SELECT 1"));
    }

    [Fact]
    public async Task CopyIn_CancelledByClient_ServerStaysClean()
    {
        var db = await pg.CreateDatabaseAsync("copy_fail");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        await using var connection = await pooler.OpenAsync(db);
        await Execute(connection, "CREATE TABLE items (id int)");

        var writer = (NpgsqlCopyTextWriter)await connection.BeginTextImportAsync("COPY items FROM STDIN");
        await writer.WriteAsync("1\n2\n");
        await writer.CancelAsync(); // CopyFail: the server discards the rows

        Assert.Equal(0L, await Scalar(connection, "SELECT count(*) FROM items"));
    }

    [Fact]
    public async Task CopyIn_BadRowMidStream_ErrorThenServerFreedForOthers()
    {
        var db = await pg.CreateDatabaseAsync("copy_badrow");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1");
        await using var connection = await pooler.OpenAsync(db);
        await using var other = await pooler.OpenAsync(db);
        await Execute(connection, "CREATE TABLE items (id int)");

        // The bad row comes first; the client keeps streaming ~4 MB after the server has given up on the COPY.
        var error = await Assert.ThrowsAsync<PostgresException>(async () =>
        {
            using var writer = await connection.BeginTextImportAsync("COPY items FROM STDIN");
            await writer.WriteAsync("not-a-number\n");
            for (var i = 0; i < 400_000; i++)
                await writer.WriteAsync("12345678\n");
        });
        Assert.Equal("22P02", error.SqlState);

        Assert.Equal(0L, await Scalar(other, "SELECT count(*) FROM items")); // the only server is free again
        Assert.Equal(1, await Scalar(connection, "SELECT 1"));
    }

    [Fact]
    public async Task ClientStopsReadingHugeResultThenLeaves_ServerFreed()
    {
        var db = await pg.CreateDatabaseAsync("copy_noread");
        await using var pooler = PoolerHarness.Start(pg, db, pool: "size: 1", auth: "trust");
        var raw = await RawClient.ConnectAsync(pooler.Port);
        await raw.SendStartupAsync(("user", db.User), ("database", db.Database));
        await raw.ReadUntilReadyAsync();
        await raw.SendQueryAsync("SELECT repeat('x', 1000000) FROM generate_series(1, 500)"); // 500 MB, never read
        await Task.Delay(500);
        await raw.SendAsync([(byte)'X', 0, 0, 0, 4]); // Terminate, but the socket stays open and unread

        await using var next = await pooler.OpenAsync(db, b => b.Password = null);
        Assert.Equal(1, await Scalar(next, "SELECT 1"));
        await raw.DisposeAsync();
    }

    [Fact]
    public async Task LargeResult_FiftyMegabytes_StreamsThrough()
    {
        var db = await pg.CreateDatabaseAsync("copy_large");
        await using var pooler = PoolerHarness.Start(pg, db);
        await using var connection = await pooler.OpenAsync(db);

        // 50,000 rows of 1 KiB = ~50 MB, plus one single 8 MB value (a frame far larger than any pipe buffer).
        await using var command = new NpgsqlCommand("SELECT g, repeat('x', 1024) FROM generate_series(1, 50000) g UNION ALL SELECT 0, repeat('y', 8388608)", connection);
        await using var reader = await command.ExecuteReaderAsync();
        long bytes = 0, rows = 0;
        while (await reader.ReadAsync())
        {
            bytes += reader.GetString(1).Length;
            rows++;
        }
        Assert.Equal(50_001, rows);
        Assert.Equal(50_000L * 1024 + 8_388_608, bytes);
    }

    [Fact]
    public async Task LargeParameter_SentByClient_StreamsToServer()
    {
        var db = await pg.CreateDatabaseAsync("copy_bigparam");
        await using var pooler = PoolerHarness.Start(pg, db);
        await using var connection = await pooler.OpenAsync(db);
        var big = new string('z', 5 * 1024 * 1024);
        await using var command = new NpgsqlCommand("SELECT length($1)", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = big });
        Assert.Equal(big.Length, await command.ExecuteScalarAsync());
    }
}
