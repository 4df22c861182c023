// The backend hosted in-process (WebApplicationFactory) against its own database, reached through an
// in-process Tuki.Pool: test → HTTP → backend → Npgsql → pooler → PostgreSQL, as in production.
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Backend.Tests;

public sealed class BackendHost : IAsyncDisposable
{
    /// <summary>Server connections the pooler may open: well below the concurrency the tests create, so
    /// clients really queue in the pooler.</summary>
    public const int PoolSize = 5;

    readonly PoolerHarness _pooler;
    readonly WebApplicationFactory<Program> _factory;

    BackendHost(PostgresFixture pg, (string Database, string User, string Password) db, PoolerHarness pooler, WebApplicationFactory<Program> factory)
    {
        Postgres = pg;
        Database = db;
        _pooler = pooler;
        _factory = factory;
        Client = factory.CreateClient();
    }

    public PostgresFixture Postgres { get; }
    public (string Database, string User, string Password) Database { get; }
    public HttpClient Client { get; }

    public static async Task<BackendHost> StartAsync(PostgresFixture pg, string prefix)
    {
        var db = await pg.CreateDatabaseAsync(prefix);
        var pooler = PoolerHarness.Start(pg, db, pool: $"size: {PoolSize}\ntimeouts: {{ query_wait: 30s, server_connect: 5s, client_login: 5s }}");
        var connectionString = pooler.ConnectionString(db, b =>
        {
            b.Pooling = true;
            b.MaxPoolSize = 100;
        });
        var factory = new WebApplicationFactory<Program>().WithWebHostBuilder(web =>
            web.UseSetting("ConnectionStrings:Pooler", connectionString));
        try
        {
            var host = new BackendHost(pg, db, pooler, factory); // CreateClient starts the app: schema and seed run here
            return host;
        }
        catch
        {
            await factory.DisposeAsync();
            await pooler.DisposeAsync();
            throw;
        }
    }

    /// <summary>A connection straight to PostgreSQL as the database owner, for arranging and checking data
    /// behind the service's back.</summary>
    public async Task<NpgsqlConnection> OpenDirectAsync()
    {
        var connection = new NpgsqlConnection(Postgres.ConnectionString(Database.Database, Database.User, Database.Password));
        await connection.OpenAsync();
        return connection;
    }

    public async Task<T> ScalarAsync<T>(string sql, params object[] parameters)
    {
        await using var connection = await OpenDirectAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var p in parameters)
            command.Parameters.Add(new NpgsqlParameter { Value = p });
        return (T)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>Adds an event with one tier of <paramref name="tickets"/> tickets; returns the event id.</summary>
    public Task<long> AddEventAsync(string tier, int tickets, int priceCents = 1000) =>
        ScalarAsync<long>("""
            WITH e AS (INSERT INTO events (name, venue, starts_at, is_public)
                       VALUES ('Test event', 'Test hall', timestamptz '2040-01-01', false) RETURNING id),
                 t AS (INSERT INTO ticket_tiers (event_id, name, price_cents, initial_quantity, remaining)
                       SELECT id, $1, $2, $3, $3 FROM e)
            SELECT id FROM e
            """, tier, priceCents, tickets);

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await _factory.DisposeAsync();
        await _pooler.DisposeAsync();
    }
}
