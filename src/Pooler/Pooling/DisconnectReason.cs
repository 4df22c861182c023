// Why a server connection was closed: recorded once (first reason wins) and shown in logs and, later, metrics.
namespace Tuki.Pool.Pooler.Pooling;

public enum DisconnectReason
{
    /// <summary>Idle in the pool longer than pool.timeouts.server_idle.</summary>
    IdleTimeout,
    /// <summary>Older than pool.timeouts.server_lifetime.</summary>
    Lifetime,
    /// <summary>Sent data or closed while idle in the pool (e.g. pg_terminate_backend, PostgreSQL restart).</summary>
    Unusable,
    /// <summary>Failed while bound to a client (read/write error, EOF, FATAL from PostgreSQL).</summary>
    ServerGone,
    /// <summary>Its client left mid-transaction and the rollback could not be confirmed in time.</summary>
    ResetFailed,
    /// <summary>Closed to make room for another pool of the same database (databases.X.max_connections).</summary>
    Evicted,
    /// <summary>The pooler is shutting down.</summary>
    Shutdown,
    /// <summary>Returned to a pool whose configuration changed (retired by generation).</summary>
    Retired,
    /// <summary>Session or startup failure.</summary>
    Error,
}
