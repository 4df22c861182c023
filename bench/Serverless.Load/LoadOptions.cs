// Command line of the load generator; every loop it starts is bounded by these numbers.
using System.Globalization;

namespace Tuki.Pool.Bench.ServerlessLoad;

public sealed record LoadOptions(
    string Label,
    string Target,        // Npgsql connection string of the data path (pooler or PostgreSQL), without pool settings
    string Admin,         // superuser connection string straight to PostgreSQL: schema, sampling, final check
    int Instances,
    int PerInstance,
    int Rate,             // requests per second, open loop
    int DurationSeconds,
    double CheckoutShare,
    string? JsonOut,
    string? RowOut)
{
    public static LoadOptions Parse(string[] args)
    {
        var map = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
                throw new ArgumentException($"expected --name value pairs, got '{args[i]}'");
            map[args[i][2..]] = args[i + 1];
        }
        string Get(string key, string? fallback = null) =>
            map.TryGetValue(key, out var v) ? v : fallback ?? throw new ArgumentException($"--{key} is required");
        int Int(string key, int fallback, int min, int max)
        {
            var value = int.Parse(Get(key, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
            return value >= min && value <= max ? value : throw new ArgumentException($"--{key}: expected {min}-{max}, got {value}");
        }
        var share = double.Parse(Get("checkout-share", "0.3"), CultureInfo.InvariantCulture);
        if (share is < 0 or > 1)
            throw new ArgumentException("--checkout-share: expected 0-1");
        return new LoadOptions(
            Get("label"), Get("target"), Get("admin"),
            Int("instances", 100, 1, 10_000), Int("per-instance", 30, 1, 1_000),
            Int("rate", 200, 1, 100_000), Int("duration", 60, 1, 3_600), share,
            map.GetValueOrDefault("json"), map.GetValueOrDefault("row"));
    }
}
