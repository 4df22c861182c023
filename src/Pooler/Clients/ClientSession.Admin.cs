// A client that asked for the admin console's virtual database (pooler, or pgbouncer for PgBouncer's tools):
// authenticated like any client, then allowed in only when listed under admin.users. It never touches a pool.
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Admin;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Pooler.Clients;

public sealed partial class ClientSession
{
    /// <summary>The name PgBouncer's tools and exporters use for the console; accepted unless a real database has it.</summary>
    private const string PgBouncerAdminDatabase = "pgbouncer";

    private bool _isAdmin;

    public bool IsAdmin => _isAdmin;

    /// <summary>True when this login is for the admin console; refuses users not under admin.users.</summary>
    private bool AdminConsoleRequested(PoolerConfig config)
    {
        var wanted = _database == ConfigDefaults.AdminDatabaseName
            || (_database == PgBouncerAdminDatabase && !config.Databases.ContainsKey(PgBouncerAdminDatabase));
        if (!wanted)
            return false;
        if (!config.Admin.Users.Contains(_user) || _context.Admin is null)
            throw new PgErrorException(PgErrors.NotAdmin(_user, _database));
        return true;
    }

    private async Task WelcomeAdminAsync()
    {
        using (Lock())
        {
            if (_draining)
                throw new PgErrorException(PgErrors.Shutdown());
            ThrowIfLoginTimedOutLocked();
            _isAdmin = true;
            SetStateLocked(ClientState.Idle);
        }
        MessageWriter.WriteAuthentication(_output, AuthCode.Ok);
        // What psql and drivers read at startup; server_version makes psql treat us as a recent server.
        foreach (var (name, value) in (ReadOnlySpan<(string, string)>)[
            ("server_version", "15.0 (" + AdminCommands.Version + ")"), ("server_encoding", "UTF8"), ("client_encoding", "UTF8"),
            ("DateStyle", "ISO, MDY"), ("integer_datetimes", "on"), ("standard_conforming_strings", "on"),
            ("application_name", _applicationName ?? "")])
            MessageWriter.WriteParameterStatus(_output, name, value);
        int secretKey;
        (_processId, secretKey) = _context.CancelKeys.Register(this);
        MessageWriter.WriteBackendKeyData(_output, _processId, secretKey);
        MessageWriter.WriteReadyForQuery(_output, TransactionStatus.Idle);
        await _output.FlushAsync().ConfigureAwait(false);
        _context.Logger.LogInformation("Admin {User} connected from {Client}", _user, _connection.RemoteEndPoint);
    }

    private async Task RunAdminAsync()
    {
        var session = new AdminSession(_context.Admin!, _input, _output, DrainDue);
        await session.RunAsync(_context.Shutdown).ConfigureAwait(false);
    }
}
