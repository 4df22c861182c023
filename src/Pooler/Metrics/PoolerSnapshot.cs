// The narrow read-only view Admin and Metrics get of the running pooler: plain rows, copied under each pool's lock,
// so neither can change pool state by accident. Built by Hosting/RuntimeView from the pools and client sessions.
using Tuki.Pool.Pooler.Pooling;

namespace Tuki.Pool.Pooler.Metrics;

public interface IPoolerView
{
    /// <summary>A fresh, consistent-per-pool copy of pools, clients and servers.</summary>
    PoolerSnapshot Snapshot();

    /// <summary>Counters of every pool seen since start (removed pools included), for SHOW STATS and /metrics.</summary>
    IReadOnlyCollection<PoolStats> Stats { get; }
}

public sealed record PoolerSnapshot(
    IReadOnlyList<PoolRow> Pools,
    IReadOnlyList<ClientRow> Clients,
    IReadOnlyList<ServerRow> Servers,
    IReadOnlyList<DatabaseRow> Databases,
    int ClientsLoggingIn);

/// <summary>One pool. Client counts by state; server counts: active = bound to a client, testing = held by the pooler
/// itself (login-time settings check, rollback after a client left mid-transaction), login = connecting.</summary>
public sealed record PoolRow(
    PoolKey Key,
    int ClientsActive, int ClientsIdle, int ClientsWaiting, int ClientsPinned,
    int ServersActive, int ServersIdle, int ServersLogin, int ServersTesting,
    int Size, int MinSize, double MaxWaitSeconds, bool Paused, string Mode);

public sealed record ClientRow(
    long Id, string User, string Database, string State,
    string Address, int Port, string LocalAddress, int LocalPort,
    DateTime ConnectTime, DateTime StateSince, double WaitSeconds,
    int? ServerProcessId, string? ApplicationName);

public sealed record ServerRow(
    string User, string Database, string State,
    string Host, int Port, string LocalAddress, int LocalPort,
    DateTime ConnectTime, int ProcessId, long? ClientId, bool Retired);

public sealed record DatabaseRow(
    string Name, string Host, int Port, string DbName, int PoolSize, int MinPoolSize, int ReservePool,
    string Mode, int MaxConnections, int CurrentConnections, bool Paused, bool Removed);
