// Where and as whom a pool's servers log in: host, port, database name, user and password, and how TLS is used.
using System.Security.Cryptography.X509Certificates;
using Tuki.Pool.Pooler.Auth;
using Tuki.Pool.Pooler.Configuration;

namespace Tuki.Pool.Pooler.Servers;

public sealed class ServerTarget(string host, int port, string database, string user, string? password, TimeSpan connectTimeout)
{
    public string Host { get; } = host;
    public int Port { get; } = port;
    public string Database { get; } = database;
    public string User { get; } = user;
    public string? Password { get; } = password;
    public TimeSpan ConnectTimeout { get; } = connectTimeout;

    /// <summary><c>databases.X.server_tls</c>.</summary>
    public ServerTlsConfig Tls { get; init; } = ServerTlsConfig.Default;

    /// <summary>SCRAM pass-through: the keys a client of this user proved, for when pooler.yaml holds no plain
    /// password for it (auth_query users, or a SCRAM verifier in pooler.yaml).</summary>
    public Func<ScramKeys?>? Keys { get; init; }

    private X509Certificate2Collection? _trustedRoots;

    /// <summary>The roots of <see cref="ServerTlsConfig.Ca"/>, read once per target (null: the system's roots).</summary>
    public X509Certificate2Collection? TrustedRoots
    {
        get
        {
            if (Tls.Ca is null)
                return null;
            if (_trustedRoots is null)
            {
                var roots = new X509Certificate2Collection();
                roots.ImportFromPemFile(Tls.Ca);
                _trustedRoots = roots;
            }
            return _trustedRoots;
        }
    }

    /// <summary>Saves the PBKDF2 cost of SCRAM on reconnects with an unchanged salt.</summary>
    public SaltedPasswordCache SaltedPasswords { get; } = new();

    public override string ToString() => $"{User}@{Host}:{Port}/{Database}";
}
