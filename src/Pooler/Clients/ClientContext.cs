// What every client session shares: the current config, the pools, cancel keys, limits and logging.
using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Admin;
using Tuki.Pool.Pooler.Auth;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Metrics;
using Tuki.Pool.Pooler.Pooling;

using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Pooler.Clients;

public sealed class ClientContext(Func<PoolerConfig> config, PoolRegistry pools, ClientSecrets secrets, ILogger logger, CancellationToken shutdown,
    PoolerMetrics? metrics = null)
{
    private int _clients;

    public PoolerConfig Config => config();
    public PoolRegistry Pools { get; } = pools;
    public ClientSecrets Secrets { get; } = secrets;
    public CancelKeyRegistry CancelKeys { get; } = new();
    public Transport.TlsCertificates Certificates { get; } = new();
    public LoginGuard Logins { get; } = new();
    public StartupPacketCache Startups { get; } = new();
    public ILogger Logger { get; } = logger;
    public CancellationToken Shutdown { get; } = shutdown;

    /// <summary>Per-pool counters and the Prometheus instruments (recording is off when metrics.port is 0).</summary>
    public PoolerMetrics Metrics { get; } = metrics ?? new PoolerMetrics(enabled: false);

    /// <summary>The admin console's commands; null when the pooler runs without one (unit setups).</summary>
    public AdminCommands? Admin { get; set; }

    /// <summary>Per-process key that makes the mock SCRAM salt of an unknown user stable but unguessable.</summary>
    public byte[] MockScramKey { get; } = RandomNumberGenerator.GetBytes(32);

    public int ClientCount => Volatile.Read(ref _clients);

    /// <summary>Counts a new client; false when <c>pool.max_client_connections</c> is reached (the caller still
    /// owes a <see cref="ReleaseClient"/>).</summary>
    public bool AdmitClient() => Interlocked.Increment(ref _clients) <= Config.Pool.MaxClientConnections;

    public void ReleaseClient() => Interlocked.Decrement(ref _clients);
}
