// What the pooler checks a client's password against, per configured user: a SCRAM verifier and/or an md5 hash,
// derived once from pooler.yaml (a plain password gets a random salt, as PostgreSQL would store it).
using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Tuki.Pool.Pooler.Auth;

public sealed class ClientSecrets(Func<string, (bool Known, string? Password)> lookup)
{
    private readonly ConcurrentDictionary<string, (string? Password, ScramSecret? Scram)> _scram = new();

    /// <summary>The SCRAM verifier for <paramref name="user"/>, or null for an unknown user (or one without a
    /// password, or with only an md5 hash, which cannot be turned into a SCRAM verifier).</summary>
    public ScramSecret? Scram(string user)
    {
        var (known, password) = lookup(user);
        if (!known || password is null || Md5Password.IsHash(password))
            return null;
        // Re-derive when the password changed on reload; otherwise reuse (PBKDF2 is deliberately slow).
        if (_scram.TryGetValue(user, out var cached) && cached.Password == password)
            return cached.Scram;
        ScramSecret? secret = ScramSecret.TryParse(password, out var parsed)
            ? parsed
            : ScramSecret.FromPassword(password, RandomNumberGenerator.GetBytes(16));
        _scram[user] = (password, secret);
        return secret;
    }

    /// <summary>The md5 stored hash for <paramref name="user"/>, or null when unknown or only a SCRAM verifier is known.</summary>
    public string? Md5(string user)
    {
        var (known, password) = lookup(user);
        if (!known || password is null || ScramSecret.IsVerifier(password))
            return null;
        return Md5Password.StoredHash(password, user);
    }

    public bool IsKnown(string user) => lookup(user).Known;

    /// <summary>auth_query, when configured (auth.query).</summary>
    public AuthQuery? AuthQuery { get; set; }

    private readonly ConcurrentDictionary<string, ScramKeys> _keys = new();

    /// <summary>Remembers what a client's successful SCRAM exchange proved, for logging in to PostgreSQL as it.</summary>
    public void RememberKeys(string user, ScramSecret verifier, byte[] clientKey)
    {
        if (!_keys.TryGetValue(user, out var known) || !known.ClientKey.AsSpan().SequenceEqual(clientKey) || known.Verifier != verifier)
            _keys[user] = new ScramKeys(verifier, clientKey);
    }

    /// <summary>The last proven keys of <paramref name="user"/>, or null before any client of it logged in.</summary>
    public ScramKeys? Keys(string user) => _keys.TryGetValue(user, out var keys) ? keys : null;
}
