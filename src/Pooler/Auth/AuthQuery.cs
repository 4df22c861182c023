// auth_query: a user not listed in pooler.yaml is looked up in PostgreSQL itself — auth.query, run as auth.user on
// the database the client asks for — and its SCRAM verifier cached for auth.cache_ttl. With SCRAM pass-through
// (ScramKeys) the pooler then needs no copy of any password but auth.user's.
using System.Collections.Concurrent;

namespace Tuki.Pool.Pooler.Auth;

/// <param name="runQuery">Runs one simple query as the auth user on a database and returns its rows (the runtime
/// rents a server of that database's auth-user pool).</param>
public sealed class AuthQuery(string query, TimeSpan cacheTtl, Func<string, string, CancellationToken, Task<List<string?[]>>> runQuery, TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<(string Database, string User), (ScramSecret? Secret, long At)> _cache = new();
    private readonly TimeProvider _time = time ?? TimeProvider.System;

    // Bounded so a scan of random user names cannot grow it without end; past it, entries are simply not kept.
    private const int MaxCached = 10_000;

    /// <summary>The verifier PostgreSQL holds for <paramref name="user"/>, or null when it has none usable (unknown
    /// user, no password, an md5 hash): the client then fails like one with a wrong password.</summary>
    public async Task<ScramSecret?> LookupAsync(string database, string user, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue((database, user), out var cached) && _time.GetElapsedTime(cached.At) < cacheTtl)
            return cached.Secret;
        // $1 is the user name, as an escape-string literal (no injection through the startup packet's user).
        var sql = query.Replace("$1", "E'" + user.Replace("\\", "\\\\").Replace("'", "''") + "'", StringComparison.Ordinal);
        var rows = await runQuery(database, sql, cancellationToken).ConfigureAwait(false);
        ScramSecret? secret = null;
        if (rows is [[_, { } passwd, ..], ..] && ScramSecret.TryParse(passwd, out var parsed))
            secret = parsed;
        if (_cache.Count < MaxCached || _cache.ContainsKey((database, user)))
            _cache[(database, user)] = (secret, _time.GetTimestamp());
        return secret;
    }
}
