// Where and as whom a pool's servers log in: host, port, database name, user and password.
using Tuki.Pool.Pooler.Auth;

namespace Tuki.Pool.Pooler.Servers;

public sealed class ServerTarget(string host, int port, string database, string user, string? password, TimeSpan connectTimeout)
{
    public string Host { get; } = host;
    public int Port { get; } = port;
    public string Database { get; } = database;
    public string User { get; } = user;
    public string? Password { get; } = password;
    public TimeSpan ConnectTimeout { get; } = connectTimeout;

    /// <summary>Saves the PBKDF2 cost of SCRAM on reconnects with an unchanged salt.</summary>
    public SaltedPasswordCache SaltedPasswords { get; } = new();

    public override string ToString() => $"{User}@{Host}:{Port}/{Database}";
}
