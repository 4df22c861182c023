// Rules that span several keys of a finished PoolerConfig (per-key types and ranges are checked where each key is
// read). Each finding names the keys it depends on, so the loader can drop it when one of them already failed.
namespace Tuki.Pool.Pooler.Configuration;

internal static class ConfigValidator
{
    /// <summary>A cross-key error and the YAML paths it was computed from.</summary>
    internal readonly record struct Finding(ConfigError Error, IReadOnlyList<string> Inputs);

    public static IReadOnlyList<Finding> Validate(PoolerConfig config)
    {
        var findings = new List<Finding>();
        CheckMinSize(config.Pool, "pool", inheritedFrom: null, findings);
        CheckImplemented(config.Pool, "pool", findings);

        CheckClientTls(config.Listen.Tls, findings);
        if (config.Auth.User is { } authUser)
        {
            if (!config.Users.TryGetValue(authUser, out var lookupUser) || lookupUser.Password is null || ScramSecretLike(lookupUser.Password))
                findings.Add(new Finding(new ConfigError("auth.user", $"{authUser} needs an entry under users with a plain password (the pooler logs in as it to run auth.query)"), ["auth.user"]));
            if (config.Auth.Type != AuthType.ScramSha256)
                findings.Add(new Finding(new ConfigError("auth.user", "auth_query works with auth.type scram-sha-256 only"), ["auth.user", "auth.type"]));
            if (!config.Auth.Query.Contains("$1", StringComparison.Ordinal))
                findings.Add(Found("auth.query", "must contain $1 (the user name being looked up)"));
        }
        if (config.Databases.Count == 0)
            findings.Add(Found("databases", "at least one database is required"));
        foreach (var (name, database) in config.Databases)
        {
            var path = ConfigPath.Join("databases", name);
            if (NameProblem(name) is { } nameProblem)
                findings.Add(Found("databases", $"database name \"{ConfigPath.Show(name)}\" {nameProblem}"));
            else if (name == ConfigDefaults.AdminDatabaseName)
                findings.Add(Found(path, $"the name {name} is reserved for the admin console (psql -d {name}); choose another name and set dbname: {name} if the server's database is called that"));
            if (NameProblem(database.DbName) is { } dbNameProblem)
                findings.Add(Found(path + ".dbname", dbNameProblem));

            // A database that inherits both values was already checked as pool.*: say it once.
            if (database.Pool.Size != config.Pool.Size || database.Pool.MinSize != config.Pool.MinSize)
                CheckMinSize(database.Pool, path + ".pool", inheritedFrom: config.Pool, findings);
            if (database.Pool != config.Pool)
                CheckImplemented(database.Pool, path + ".pool", findings);
            if (database.Pool.MaxClientConnections != config.Pool.MaxClientConnections)
                findings.Add(Found(path + ".pool.max_client_connections", "is a limit of the whole pooler: set it under pool, not per database"));
        }

        foreach (var (name, user) in config.Users)
        {
            var path = ConfigPath.Join("users", name);
            string[] passwordInputs = [path + ".password", path + ".password_file"];
            if (NameProblem(name) is { } nameProblem)
                findings.Add(Found("users", $"user name \"{ConfigPath.Show(name)}\" {nameProblem}"));
            if (user.Password is null && config.Auth.Type != AuthType.Trust)
                findings.Add(new Finding(
                    new ConfigError(path + ".password", $"required when auth.type is {EnumSpellings.NameOf(config.Auth.Type)}"),
                    [.. passwordInputs, "auth.type"]));
            else if (user.Password is { Length: 0 })
                findings.Add(new Finding(new ConfigError(path + ".password", "must not be empty"), passwordInputs));
        }
        return findings;
    }

    /// <summary>Keys whose feature is not built yet are refused with a non-default value instead of being ignored,
    /// so a config never promises behaviour the pooler does not have. Each message says what works today.</summary>
    private static void CheckImplemented(PoolConfig pool, string path, List<Finding> findings)
    {
        if (string.IsNullOrWhiteSpace(pool.ResetQuery))
            findings.Add(Found(path + ".reset_query", "must not be empty (the default is DISCARD ALL)"));
        if (pool.MaxPinned is { } maxPinned && maxPinned > pool.Size)
            findings.Add(Found(path + ".max_pinned", $"must not exceed size ({pool.Size}): pinned clients would starve the pool"));
        if (pool.ReserveSize != 0)
            findings.Add(Found(path + ".reserve_size", "reserve pools are not available yet; only 0 is supported in this version"));
    }

    private static bool ScramSecretLike(string password) => password.StartsWith("SCRAM-SHA-256$", StringComparison.Ordinal) || password.StartsWith("md5", StringComparison.Ordinal) && password.Length == 35;

    /// <summary>TLS toward clients needs a certificate and key that load now, not at the first client's handshake.</summary>
    private static void CheckClientTls(ClientTlsConfig tls, List<Finding> findings)
    {
        if (tls.Mode == ClientTlsMode.Disable)
            return;
        if (tls.Certificate is null || tls.Key is null)
        {
            findings.Add(Found("listen.tls", $"mode {EnumSpellings.NameOf(tls.Mode)} needs both certificate and key (PEM files)"));
            return;
        }
        if (Transport.TlsCertificates.Problem(tls.Certificate, tls.Key) is { } problem)
            findings.Add(Found("listen.tls.certificate", problem));
    }

    /// <summary>Why a database or user name is unusable, or null. PostgreSQL strings are NUL-terminated on the
    /// wire, so a NUL would cut the name short.</summary>
    public static string? NameProblem(string name) =>
        name.Length == 0 ? "must not be empty"
        : name.Contains('\0') ? "must not contain a NUL character"
        : null;

    private static void CheckMinSize(PoolConfig pool, string path, PoolConfig? inheritedFrom, List<Finding> findings)
    {
        if (pool.MinSize <= pool.Size)
            return;
        var inherited = inheritedFrom is not null && pool.MinSize == inheritedFrom.MinSize ? " (inherited from pool.min_size)" : "";
        var problem = $"expected 0-{pool.Size} (at most {path}.size), got {pool.MinSize}{inherited}";
        string[] inputs = inheritedFrom is null
            ? [path + ".size", path + ".min_size"]
            : [path + ".size", path + ".min_size", "pool.size", "pool.min_size"];
        findings.Add(new Finding(new ConfigError(path + ".min_size", problem), inputs));
    }

    private static Finding Found(string path, string problem) => new(new ConfigError(path, problem), [path]);
}
