// Every key pooler.yaml accepts, in one list: the loader rejects any other key, and a test checks that the
// example pooler.yaml documents each one (PgBouncer's optscan.sh idea).
namespace Tuki.Pool.Pooler.Configuration;

internal static class ConfigKeys
{
    /// <summary>In a pattern, stands for a name the user chooses (a database or user name).</summary>
    public const string AnyName = "*";

    // Accepted both as pool.* and as databases.NAME.pool.*, where each one overrides the top-level value.
    private static readonly string[] PoolKeys =
    [
        "mode", "size", "min_size", "reserve_size", "max_client_connections",
        "max_prepared_statements", "pinning", "max_pinned", "reset_query",
        "timeouts",
        "timeouts.query_wait", "timeouts.server_connect", "timeouts.server_idle",
        "timeouts.server_lifetime", "timeouts.client_login", "timeouts.idle_transaction", "timeouts.query",
    ];

    /// <summary>Dotted patterns of every accepted key, sections included (<c>pool</c>, <c>pool.timeouts</c>).</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        "listen", "listen.address", "listen.port", "listen.reuse_port",
        "listen.tls", "listen.tls.mode", "listen.tls.certificate", "listen.tls.key",
        "listen.max_message_size", "listen.login_rate",
        "metrics", "metrics.address", "metrics.port",
        "admin", "admin.users",
        "auth", "auth.type", "auth.user", "auth.query", "auth.cache_ttl",
        "pool", .. PoolKeys.Select(key => "pool." + key),
        "databases", "databases.*",
        "databases.*.host", "databases.*.port", "databases.*.dbname", "databases.*.max_connections",
        "databases.*.server_tls", "databases.*.server_tls.mode", "databases.*.server_tls.ca", "databases.*.allow",
        "databases.*.pool", .. PoolKeys.Select(key => "databases.*.pool." + key),
        "users", "users.*", "users.*.password", "users.*.password_file", "users.*.max_connections", "users.*.allow",
        "reload", "reload.watch_file",
        "logging", "logging.format", "logging.connections",
        "shutdown_timeout",
    ];

    // Pattern of a mapping ("" for the root) -> the keys allowed directly inside it; built from All so the two can't drift.
    private static readonly Dictionary<string, HashSet<string>> Children = BuildChildren();

    /// <summary>Keys allowed directly inside the mapping at <paramref name="pattern"/>; <see cref="AnyName"/> means
    /// the mapping's keys are names. Empty for a pattern that is not a mapping.</summary>
    public static IReadOnlySet<string> KeysOf(string pattern) =>
        Children.TryGetValue(pattern, out var keys) ? keys : [];

    private static Dictionary<string, HashSet<string>> BuildChildren()
    {
        var children = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var key in All)
        {
            var dot = key.LastIndexOf('.');
            var parent = dot < 0 ? "" : key[..dot];
            if (!children.TryGetValue(parent, out var set))
                children[parent] = set = new HashSet<string>(StringComparer.Ordinal);
            set.Add(key[(dot + 1)..]);
        }
        return children;
    }
}
