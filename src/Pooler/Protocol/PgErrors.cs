// The one factory for every error the pooler raises: a real SQLSTATE and a message that says what to change.
namespace Tuki.Pool.Pooler.Protocol;

public static class PgErrors
{
    public static PgError ProtocolViolation(string detail) =>
        new("FATAL", SqlState.ProtocolViolation, $"protocol violation: {detail}");

    public static PgError UnsupportedProtocol(int major, int minor) =>
        new("FATAL", SqlState.FeatureNotSupported, $"unsupported frontend protocol {major}.{minor}: server supports 3.0 to 3.0");

    public static PgError PasswordFailed(string user) =>
        new("FATAL", SqlState.InvalidPassword, $"password authentication failed for user \"{user}\"");

    public static PgError UnknownDatabase(string database) =>
        new("FATAL", SqlState.InvalidCatalogName, $"database \"{database}\" does not exist",
            "The pooler only serves the databases listed under 'databases' in pooler.yaml.");

    public static PgError AuthQueryFailed(string database, string detail) =>
        new("FATAL", SqlState.InvalidAuthorizationSpecification, $"the pooler could not look the user up in database \"{database}\": {detail}",
            "Check auth.user and auth.query in pooler.yaml, and that the lookup function exists in this database (SQL in pooler.yaml).");

    public static PgError IdleInTransactionTimeout(TimeSpan timeout) =>
        new("FATAL", SqlState.IdleInTransactionSessionTimeout, "terminating connection due to idle-in-transaction timeout",
            $"The client held a server connection inside a transaction and sent nothing for {timeout.TotalSeconds:0.###}s (pool.timeouts.idle_transaction); the transaction was rolled back.");

    public static PgError LoginRateExceeded(string address, int perSecond) =>
        new("FATAL", SqlState.TooManyConnections, $"too many logins from {address}",
            $"listen.login_rate allows {perSecond} logins per second from one address; retry with backoff.");

    public static PgError AddressNotAllowed(string address, string user, string database) =>
        new("FATAL", SqlState.InvalidAuthorizationSpecification, $"pooler.yaml allows no connection from host \"{address}\" for user \"{user}\", database \"{database}\"",
            "See databases.X.allow and users.X.allow in pooler.yaml.");

    public static PgError TooManyForUser(string user, int max) =>
        new("FATAL", SqlState.TooManyConnections, $"too many connections for user \"{user}\"",
            $"users.{user}.max_connections in pooler.yaml allows {max} client connections at once.");

    public static PgError TlsRequired() =>
        new("FATAL", SqlState.InvalidAuthorizationSpecification, "the pooler accepts only TLS connections",
            "Connect with sslmode=require (or verify-ca/verify-full); listen.tls.mode is require.");

    public static PgError MissingUser() =>
        new("FATAL", SqlState.InvalidAuthorizationSpecification, "no PostgreSQL user name specified in startup packet");

    public static PgError ReplicationNotSupported() =>
        new("FATAL", SqlState.FeatureNotSupported, "replication connections are not supported by the pooler",
            "Connect replication clients to PostgreSQL directly.");

    public static PgError TooManyClients(int max) =>
        new("FATAL", SqlState.TooManyConnections, $"too many client connections: the pooler accepts at most {max}",
            "Raise pool.max_client_connections in pooler.yaml, or close idle clients.");

    public static PgError QueryWaitTimeout(string database, string user, TimeSpan wait, int size) =>
        new("FATAL", SqlState.TooManyConnections,
            $"no server connection for database \"{database}\" user \"{user}\" became free within {wait.TotalSeconds:0.###}s (pool size {size})",
            "Transactions hold their server too long, or the pool is too small: raise pool.size or pool.timeouts.query_wait.");

    public static PgError ServerUnavailable(string database, string detail) =>
        new("FATAL", SqlState.ConnectionFailure,
            $"the pooler could not connect to PostgreSQL for database \"{database}\": {detail}",
            "Check that PostgreSQL is up and that databases.<name>.host/port in pooler.yaml are right.");

    public static PgError ServerLoginFailed(string database, string detail) =>
        new("FATAL", SqlState.SqlClientUnableToEstablishSqlConnection,
            $"the pooler could not log in to PostgreSQL for database \"{database}\": {detail}",
            "Check the user's password in pooler.yaml against PostgreSQL.");

    public static PgError ServerConnectionLost() =>
        new("FATAL", SqlState.ConnectionFailure, "server connection lost in the middle of a transaction; the transaction was aborted",
            "Reconnect and retry the transaction.");

    public static PgError LoginTimeout(TimeSpan timeout) =>
        new("FATAL", SqlState.ProtocolViolation, $"client did not finish logging in within {timeout.TotalSeconds:0.###}s (pool.timeouts.client_login)");

    public static PgError Shutdown() =>
        new("FATAL", SqlState.AdminShutdown, "terminating connection because the pooler is shutting down");

    public static PgError NotAdmin(string user, string database) =>
        new("FATAL", SqlState.InvalidAuthorizationSpecification, $"user \"{user}\" may not use the admin console (database \"{database}\")",
            "List the user under admin.users in pooler.yaml.");

    public static PgError AdminSimpleQueryOnly() =>
        new("ERROR", SqlState.FeatureNotSupported, "the admin console speaks the simple query protocol only",
            "Use psql, or a driver mode that sends plain Query messages (no parameters, no prepared statements).");

    public static PgError AdminUnknownCommand(string command) =>
        new("ERROR", SqlState.SyntaxError, $"unknown admin command: {command}",
            "Try SHOW POOLS, SHOW CLIENTS, SHOW SERVERS, SHOW STATS, SHOW DATABASES, SHOW CONFIG, SHOW VERSION, PAUSE, RESUME, RECONNECT, RELOAD, KILL, SHUTDOWN or WAIT_CLOSE.");

    public static PgError AdminUnknownDatabase(string database) =>
        new("ERROR", SqlState.InvalidCatalogName, $"database \"{database}\" is not in pooler.yaml");

    public static PgError ReloadFailed(string details) =>
        new("ERROR", SqlState.ConfigFileError, $"configuration not reloaded, the old one stays in force: {details}");

    public static PgError UnsupportedAuth(string method) =>
        new("FATAL", SqlState.FeatureNotSupported, $"PostgreSQL asked for authentication method {method}, which the pooler does not support");
}
