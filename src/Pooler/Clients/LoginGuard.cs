// Limits checked at login, before any server is involved: a login rate per client address (a token bucket, so a
// burst of reconnects after a deploy passes but a password-guessing loop or a connect storm from one host is
// slowed), and client connections per user (users.X.max_connections, as PostgreSQL's role CONNECTION LIMIT).
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace Tuki.Pool.Pooler.Clients;

public sealed class LoginGuard
{
    private readonly ConcurrentDictionary<IPAddress, Bucket> _buckets = new();
    private readonly ConcurrentDictionary<string, int> _perUser = new(StringComparer.Ordinal);

    private sealed class Bucket
    {
        public double Tokens;
        public long Last;
    }

    /// <summary>Takes one login token of <paramref name="address"/>: <paramref name="perSecond"/> tokens a second,
    /// at most that many saved up. False when the address is over its rate.</summary>
    public bool TryLogin(IPAddress address, int perSecond)
    {
        if (perSecond <= 0)
            return true;
        var now = Stopwatch.GetTimestamp();
        var bucket = _buckets.GetOrAdd(address, _ => new Bucket { Tokens = perSecond, Last = now });
        lock (bucket)
        {
            bucket.Tokens = Math.Min(perSecond, bucket.Tokens + Stopwatch.GetElapsedTime(bucket.Last, now).TotalSeconds * perSecond);
            bucket.Last = now;
            if (bucket.Tokens < 1)
                return false;
            bucket.Tokens -= 1;
            return true;
        }
    }

    /// <summary>Counts a client of <paramref name="user"/>; false (and nothing counted) at <paramref name="max"/>.</summary>
    public bool TryAdmitUser(string user, int max)
    {
        if (max <= 0)
            return true; // nothing to count against
        while (true)
        {
            if (!_perUser.TryGetValue(user, out var current))
            {
                if (_perUser.TryAdd(user, 1))
                    return true;
                continue;
            }
            if (current >= max)
                return false;
            if (_perUser.TryUpdate(user, current + 1, current))
                return true;
        }
    }

    public void ReleaseUser(string user) => _perUser.AddOrUpdate(user, 0, (_, n) => Math.Max(0, n - 1));

    /// <summary>Whether a client of <paramref name="user"/> must be released (only counted ones are).</summary>
    public static bool Counts(int max) => max > 0;

    /// <summary>Forgets addresses whose bucket has been full for a minute (called by the once-a-second sweep).</summary>
    public void Sweep()
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var (address, bucket) in _buckets)
            if (Stopwatch.GetElapsedTime(bucket.Last, now) > TimeSpan.FromMinutes(1))
                _buckets.TryRemove(address, out _);
    }
}
