// What the admin console may do to the running pooler besides reading it (IPoolerView): the PgBouncer verbs.
// Implemented by Hosting/PoolerRuntime; each takes effect without dropping a client in a transaction.
using Tuki.Pool.Pooler.Configuration;

namespace Tuki.Pool.Pooler.Admin;

public interface IPoolerControl
{
    /// <summary>The configuration in force (SHOW CONFIG, SHOW DATABASES).</summary>
    PoolerConfig Config { get; }

    /// <summary>Reloads pooler.yaml; the errors (each naming its key) when it was refused and the old one kept.</summary>
    IReadOnlyList<ConfigError> Reload(string trigger);

    /// <summary>New transactions of <paramref name="database"/> (null = all) wait; completes once none is running.</summary>
    Task PauseAsync(string? database, CancellationToken cancellationToken);

    void Resume(string? database);

    /// <summary>Server connections are replaced: idle ones closed now, busy ones after their transaction.</summary>
    void Reconnect(string? database);

    /// <summary>Drops every client and server connection of the database at once and pauses it until RESUME.</summary>
    void Kill(string database);

    /// <summary>Starts the graceful shutdown (drain, then exit).</summary>
    void Shutdown();

    /// <summary>Completes when every server retired by RECONNECT or a reload has closed.</summary>
    Task WaitCloseAsync(string? database, CancellationToken cancellationToken);
}
