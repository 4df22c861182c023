// The read-only view Admin and Metrics get (IPoolerView): pools, clients and servers copied into plain rows.
// Client counts come from the sessions' own states, server counts from the pools, so SHOW POOLS and /metrics,
// built from the same snapshot, always agree with each other.
using System.Net;
using Tuki.Pool.Pooler.Clients;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Metrics;
using Tuki.Pool.Pooler.Pooling;

namespace Tuki.Pool.Pooler.Hosting;

public sealed partial class PoolerRuntime : IPoolerView
{
    public IReadOnlyCollection<PoolStats> Stats => Metrics.AllStats;

    public PoolerSnapshot Snapshot() => BuildSnapshot(clientRows: true);

    /// <summary><paramref name="clientRows"/> false (metrics scrapes): counts only, no per-client rows, addresses or
    /// strings; at 10,000 clients that is 20,000 syscalls and as many strings less per scrape.</summary>
    private PoolerSnapshot BuildSnapshot(bool clientRows)
    {
        var config = Config;
        var infos = new List<ClientInfo>();
        var loggingIn = 0;
        foreach (var session in _listener.Sessions)
        {
            if (session.IsAdmin)
                continue;
            session.ReportBytes();
            var info = session.Describe(addresses: clientRows);
            if (info.State == ClientState.Login)
                loggingIn++;
            else if (info.State != ClientState.Closing)
                infos.Add(info);
        }

        var boundServers = new Dictionary<Servers.ServerConnection, ClientInfo>();
        foreach (var info in infos)
            if (info.Server is { } server)
                boundServers[server] = info;

        var pools = new List<PoolRow>();
        var idleServers = new HashSet<IPooledConnection>();
        foreach (var pool in Pools.Pools)
        {
            var counts = pool.Counts;
            int active = 0, idle = 0, waiting = 0, pinned = 0, bound = 0;
            double maxWait = 0;
            foreach (var info in infos)
            {
                if (info.Pool != pool)
                    continue;
                switch (info.State)
                {
                    case ClientState.Active: active++; break;
                    case ClientState.Idle: idle++; break;
                    case ClientState.Waiting: waiting++; maxWait = Math.Max(maxWait, info.WaitSeconds); break;
                    case ClientState.Pinned: pinned++; break;
                }
                if (info.Server is not null)
                    bound++;
            }
            foreach (var c in pool.IdleSnapshot())
                idleServers.Add(c);
            var settings = pool.Settings;
            var mode = _databases.TryGetValue(pool.Key.Database, out var db) ? EnumSpellings.NameOf(db.Pool.Mode) : "transaction";
            pools.Add(new PoolRow(pool.Key, active, idle, waiting, pinned,
                ServersActive: Math.Min(bound, counts.Active), ServersIdle: counts.Idle, ServersLogin: counts.Opening,
                ServersTesting: Math.Max(0, counts.Active - bound),
                settings.Size, settings.MinSize, maxWait, pool.Group.Paused, mode));
        }

        var servers = new List<ServerRow>();
        foreach (var (server, tracked) in _servers)
        {
            var state = boundServers.ContainsKey(server) ? "active" : idleServers.Contains(server) ? "idle" : "testing";
            var pool = Pools.GetExisting(tracked.Key);
            servers.Add(new ServerRow(tracked.Key.User, tracked.Key.Database, state, server.Target.Host, server.Target.Port,
                tracked.Local?.Address.ToString() ?? "", tracked.Local?.Port ?? 0, tracked.ConnectedAt, server.ProcessId,
                boundServers.TryGetValue(server, out var client) ? client.Id : null,
                pool is null || pool.Retired || server.Generation != pool.Generation));
        }

        var databases = new List<DatabaseRow>();
        foreach (var (name, database) in _databases)
        {
            var group = Pools.Groups.TryGetValue(name, out var g) ? g : null;
            var removed = !config.Databases.ContainsKey(name);
            if (removed && (group is null || group.Count == 0))
                continue; // gone and drained
            databases.Add(new DatabaseRow(name, database.Host, database.Port, database.DbName, database.Pool.Size, database.Pool.MinSize,
                database.Pool.ReserveSize, EnumSpellings.NameOf(database.Pool.Mode), database.MaxConnections, group?.Count ?? 0,
                group?.Paused ?? false, removed));
        }

        var clients = !clientRows ? [] : infos.Select(i => new ClientRow(i.Id, i.User, i.Database, i.State.Label(),
            Address(i.Remote), Port(i.Remote), Address(i.Local), Port(i.Local), i.ConnectedAt, i.StateSince, i.WaitSeconds,
            i.Server?.ProcessId, i.ApplicationName)).ToList();
        return new PoolerSnapshot(pools, clients, servers, databases, loggingIn);
    }

    private static string Address(EndPoint? endpoint) => endpoint is IPEndPoint ip ? ip.Address.ToString() : "";
    private static int Port(EndPoint? endpoint) => endpoint is IPEndPoint ip ? ip.Port : 0;
}
