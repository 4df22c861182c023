// Durations of the fault tests: short in CI, longer with TUKI_LONG_FAULTS=1 (more load before and after each fault,
// more kills, 100,000 instead of 10,000 connection cycles).
namespace Tuki.Pool.Pooler.IntegrationTests.Faults;

public static class FaultSettings
{
    public static bool Long => Environment.GetEnvironmentVariable("TUKI_LONG_FAULTS") == "1";

    /// <summary>Load before a fault, to have transactions in flight when it strikes.</summary>
    public static TimeSpan Warmup => TimeSpan.FromSeconds(Long ? 10 : 2);

    /// <summary>Load kept up after recovery, to show it lasts.</summary>
    public static TimeSpan Afterwards => TimeSpan.FromSeconds(Long ? 20 : 2);

    /// <summary>How long recovery may take before the test fails.</summary>
    public static readonly TimeSpan RecoveryLimit = TimeSpan.FromSeconds(30);

    public static int Kills => Long ? 100 : 12;

    public static int ConnectCycles => Long ? 100_000 : 10_000;

    public const string Pool = "size: 4\ntimeouts: { query_wait: 5s, server_connect: 2s, client_login: 5s }";
    public const int PoolSize = 4;
    public const int Workers = 8;
}
