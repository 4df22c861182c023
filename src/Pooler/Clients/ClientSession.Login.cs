// Startup and authentication of a client: SSLRequest/GSSENCRequest answered 'N', CancelRequest routed, then
// SCRAM-SHA-256 / md5 / trust against pooler.yaml, then the welcome (AuthenticationOk, ParameterStatus from a
// real server, our own BackendKeyData, ReadyForQuery).
//
// The steps a login awaits (each waits for the client at least once) return pooled ValueTasks: their state machines
// come from the runtime's per-core cache and go back when awaited. With tens of logins in flight (clients that
// connect per transaction) that saves ≈1 KB of task boxes per login; a storm of thousands at once outruns the cache.
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Auth;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Pooling;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Pooler.Servers;

namespace Tuki.Pool.Pooler.Clients;

public sealed partial class ClientSession
{
    // Auth messages are tiny; anything bigger during login is an attack or a bug.
    private const int MaxLoginMessageLength = 16 * 1024;

    /// <summary>Returns false when the connection ends during login (cancel request, refusal, timeout). Pooled like
    /// its steps: the client loop awaits it once.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<bool> LoginAsync(bool admitted)
    {
        var loginTimeout = _context.Config.Pool.Timeouts.ClientLogin;
        try
        {
            var startup = await ReadStartupAsync().ConfigureAwait(false);
            if (startup is null)
                return false;
            if (!admitted)
                throw new PgErrorException(PgErrors.TooManyClients(_context.Config.Pool.MaxClientConnections));

            _user = startup["user"] ?? throw new PgErrorException(PgErrors.MissingUser());
            _database = startup["database"] is { Length: > 0 } db ? db : _user;
            if (startup["replication"] is { } replication && replication.ToLowerInvariant() is not ("false" or "0" or "off" or "no"))
                throw new PgErrorException(PgErrors.ReplicationNotSupported());
            CheckAddress();
            CollectStartupParameters(startup);
            _applicationName = startup["application_name"];

            await AuthenticateAsync().ConfigureAwait(false);
            AdmitUser();

            var config = _context.Config;
            if (AdminConsoleRequested(config))
            {
                await WelcomeAdminAsync().ConfigureAwait(false);
                return true;
            }
            if (!config.Databases.ContainsKey(_database))
                throw new PgErrorException(PgErrors.UnknownDatabase(_database));
            _pool = _context.Pools.GetOrCreate(new PoolKey(_database, _user));
            (_database, _user) = (_pool.Key.Database, _pool.Key.User); // the pool's copies: one for all its clients
            ApplyPoolRules(config.Databases[_database].Pool);
            _applicationName = DesiredValue("application_name") ?? _applicationName; // the shared table's copy
            var serverParameters = await GetServerParametersAsync(_pool).ConfigureAwait(false);
            await ValidateSettingsAsync(_pool).ConfigureAwait(false);
            OnLoggedIn();
            await WelcomeAsync(serverParameters).ConfigureAwait(false);
            if (_context.Config.Logging.Connections)
                _context.Logger.LogInformation("Client {Client} connected to {Database} as {User} (application_name {ApplicationName})",
                    _connection.RemoteEndPoint, _database, _user, _applicationName ?? "");
            return true;
        }
        catch (OperationCanceledException) when (LoginTimedOut && !_context.Shutdown.IsCancellationRequested)
        {
            _context.Logger.LogInformation("Client {Client} did not log in within {Timeout}", _connection.RemoteEndPoint, loginTimeout);
            await SendFatalAsync(PgErrors.LoginTimeout(loginTimeout)).ConfigureAwait(false);
            return false;
        }
        catch (PgErrorException ex)
        {
            _context.Logger.LogInformation("Client {Client} login refused: {Error}", _connection.RemoteEndPoint, ex.Error);
            await SendFatalAsync(ex.Error).ConfigureAwait(false);
            return false;
        }
        finally
        {
            EndLoginWaits();
        }
    }

    private bool _encrypted;
    private bool _userCounted;

    /// <summary>Before any password work: the address's login rate (listen.login_rate), then databases.X.allow and
    /// users.X.allow, like pg_hba.conf's address column.</summary>
    private void CheckAddress()
    {
        var config = _context.Config;
        _maxClientMessageLength = config.Listen.MaxMessageSize;
        var databaseAllow = config.Databases.TryGetValue(_database, out var database) ? database.Allow : null;
        var userAllow = config.Users.TryGetValue(_user, out var user) ? user.Allow : null;
        if (config.Listen.LoginRate <= 0 && databaseAllow is null && userAllow is null)
            return; // nothing to check the address against: no getpeername and no address objects per login
        // Read from the kernel (accepted clients keep no copy): unreadable only once the peer has reset, and a client
        // whose address cannot be checked does not get past the checks.
        var address = _connection.RemoteEndPoint?.Address ?? throw new IOException("The client's address is gone: it disconnected.");
        if (address.IsIPv4MappedToIPv6)
            address = address.MapToIPv4();
        if (!_context.Logins.TryLogin(address, config.Listen.LoginRate))
            throw new PgErrorException(PgErrors.LoginRateExceeded(address.ToString(), config.Listen.LoginRate));
        if (!Allowed(databaseAllow, address) || !Allowed(userAllow, address))
            throw new PgErrorException(PgErrors.AddressNotAllowed(address.ToString(), _user, _database));
    }

    private static bool Allowed(IReadOnlyList<System.Net.IPNetwork>? allow, System.Net.IPAddress address)
    {
        if (allow is null)
            return true;
        foreach (var network in allow)
            if (network.Contains(address))
                return true;
        return false;
    }

    /// <summary>users.X.max_connections, counted once the client proved who it is.</summary>
    private void AdmitUser()
    {
        var max = _context.Config.Users.TryGetValue(_user, out var user) ? user.MaxConnections : 0;
        if (!_context.Logins.TryAdmitUser(_user, max))
            throw new PgErrorException(PgErrors.TooManyForUser(_user, max));
        _userCounted = LoginGuard.Counts(max);
    }

    /// <summary>After 'S': the handshake, then every later byte goes through TLS (the startup packet included).</summary>
    private async Task StartTlsAsync(ClientTlsConfig tls)
    {
        var certificate = _context.Certificates.Get(tls.Certificate!, tls.Key!);
        System.IO.Pipelines.IDuplexPipe pipe;
        try
        {
            pipe = await Transport.Tls.AcceptAsync(_connection, certificate, LoginWaitToken()).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
        {
            _context.Logger.LogInformation("Client {Client} TLS handshake failed: {Problem}", _connection.RemoteEndPoint, ex.Message);
            throw new OperationCanceledException("TLS handshake failed", ex); // nothing can be said to this client in cleartext
        }
        (_input, _output) = (pipe.Input, pipe.Output);
        _encrypted = true;
    }

    /// <summary>Reads packets until a StartupMessage; answers SSL requests with 'S' (listen.tls) or 'N', GSS requests
    /// with 'N', and serves CancelRequest.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<StartupPacket?> ReadStartupAsync()
    {
        bool sslAsked = false, gssAsked = false;
        while (true)
        {
            var result = await _input.ReadAsync(LoginReadToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            StartupPacket? packet;
            try
            {
                if (result.IsCanceled)
                    ThrowIfLoginCut();
                if (!StartupPacketReader.TryRead(ref buffer, _context.Startups, out packet))
                {
                    if (result.IsCompleted)
                        return null;
                    continue;
                }
                // Bytes pipelined after an SSLRequest would be read as cleartext by mistake (CVE-2021-23222): refuse.
                if (packet!.Kind is StartupKind.SslRequest or StartupKind.GssEncRequest && !buffer.IsEmpty)
                    throw new ProtocolViolationException("unexpected data after SSLRequest");
            }
            finally
            {
                _input.AdvanceTo(buffer.Start, buffer.End);
            }

            switch (packet.Kind)
            {
                case StartupKind.SslRequest:
                case StartupKind.GssEncRequest:
                    // libpq may try GSSENC then SSL, once each; anything more is a confused or hostile client.
                    var ssl = packet.Kind == StartupKind.SslRequest;
                    if (ssl ? sslAsked : gssAsked)
                        throw new ProtocolViolationException($"duplicate {(ssl ? "SSLRequest" : "GSSENCRequest")}");
                    if (ssl) sslAsked = true; else gssAsked = true;
                    var tls = _context.Config.Listen.Tls;
                    var accept = packet.Kind == StartupKind.SslRequest && tls.Mode != ClientTlsMode.Disable && !_encrypted;
                    _output.GetSpan(1)[0] = accept ? (byte)'S' : (byte)'N';
                    _output.Advance(1);
                    await _output.FlushAsync().ConfigureAwait(false);
                    if (accept)
                        await StartTlsAsync(tls).ConfigureAwait(false);
                    continue;
                case StartupKind.CancelRequest:
                    var target = _context.CancelKeys.Find(packet.CancelProcessId, packet.CancelSecretKey);
                    if (target is not null)
                        await target.ForwardCancelAsync().ConfigureAwait(false);
                    return null;
                default:
                    if (_context.Config.Listen.Tls.Mode == ClientTlsMode.Require && !_encrypted)
                        throw new PgErrorException(PgErrors.TlsRequired());
                    var options = ProtocolOptions(packet);
                    if ((packet.ProtocolVersion & 0xFFFF) != 0 || options is not null)
                    {
                        // A newer 3.x client, or protocol options: say we speak 3.0 and ignore those options, as
                        // PostgreSQL does (the field carries the whole version number, 3.0 = 196608).
                        MessageWriter.WriteNegotiateProtocolVersion(_output, StartupCode.ProtocolVersion3, options ?? []);
                    }
                    return packet;
            }
        }
    }

    /// <summary>The protocol options (<c>_pq_.*</c>) a startup packet asks for; null for the usual none.</summary>
    private static List<string>? ProtocolOptions(StartupPacket packet)
    {
        List<string>? options = null;
        for (var i = 0; i < packet.Parameters.Count; i++)
            if (packet.Parameters[i].Key is var name && name.StartsWith("_pq_.", StringComparison.Ordinal))
                (options ??= []).Add(name);
        return options;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AuthenticateAsync()
    {
        var type = _context.Config.Auth.Type;
        var known = _context.Secrets.IsKnown(_user);
        switch (type)
        {
            case AuthType.Trust:
                if (!known)
                    throw new PgErrorException(PgErrors.PasswordFailed(_user));
                break;
            case AuthType.Md5:
                await AuthenticateMd5Async().ConfigureAwait(false);
                break;
            default:
                await AuthenticateScramAsync().ConfigureAwait(false);
                break;
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AuthenticateScramAsync()
    {
        var secret = _context.Secrets.Scram(_user);
        if (secret is null && _context.Secrets.AuthQuery is { } authQuery && _context.Config.Databases.ContainsKey(_database))
            secret = await LookUpSecretAsync(authQuery).ConfigureAwait(false);
        // Unknown users run the same exchange against a mock verifier and fail at the proof, like a wrong password.
        var scram = secret is null ? ScramServer.Mock(_user, _context.MockScramKey) : new ScramServer(secret);

        MessageWriter.WriteAuthenticationSasl(_output, ScramServer.Mechanism);
        await _output.FlushAsync().ConfigureAwait(false);

        var initial = await ReadPasswordMessageAsync().ConfigureAwait(false);
        byte[] serverFirst;
        try { serverFirst = scram.HandleClientFirst(SaslInitialResponseData(initial)); }
        catch (ScramException ex) { throw new PgErrorException(PgErrors.ProtocolViolation(ex.Message)); }
        MessageWriter.WriteAuthentication(_output, AuthCode.SaslContinue, serverFirst);
        await _output.FlushAsync().ConfigureAwait(false);

        var final = await ReadPasswordMessageAsync().ConfigureAwait(false);
        byte[]? serverFinal;
        try { serverFinal = scram.HandleClientFinal(final); }
        catch (ScramException ex) { throw new PgErrorException(PgErrors.ProtocolViolation(ex.Message)); }
        if (serverFinal is null)
            throw new PgErrorException(PgErrors.PasswordFailed(_user));
        _context.Secrets.RememberKeys(_user, secret!, scram.ClientKey!);
        MessageWriter.WriteAuthentication(_output, AuthCode.SaslFinal, serverFinal);
    }

    private async Task<ScramSecret?> LookUpSecretAsync(AuthQuery authQuery)
    {
        try
        {
            return await authQuery.LookupAsync(_database, _user, LoginWaitToken()).ConfigureAwait(false);
        }
        catch (PoolWaitTimeoutException ex)
        {
            throw new PgErrorException(PgErrors.QueryWaitTimeout(ex.Key.Database, ex.Key.User, ex.Waited, ex.Size));
        }
        catch (ServerLoginException ex)
        {
            throw new PgErrorException(ex.Error);
        }
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask AuthenticateMd5Async()
    {
        var stored = _context.Secrets.Md5(_user);
        var salt = RandomNumberGenerator.GetBytes(4);
        MessageWriter.WriteAuthentication(_output, AuthCode.Md5Password, salt);
        await _output.FlushAsync().ConfigureAwait(false);

        var body = await ReadPasswordMessageAsync().ConfigureAwait(false);
        var sent = body.Length > 0 && body[^1] == 0 ? Encoding.UTF8.GetString(body, 0, body.Length - 1) : "";
        var expected = stored is null ? null : Md5Password.Response(stored, _user, salt);
        if (expected is null || !CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent), Encoding.UTF8.GetBytes(expected)))
            throw new PgErrorException(PgErrors.PasswordFailed(_user));
    }

    /// <summary>Reads one PasswordMessage/SASL message ('p'); a client that leaves here just ends the session.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<byte[]> ReadPasswordMessageAsync()
    {
        while (true)
        {
            var result = await _input.ReadAsync(LoginReadToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            try
            {
                if (result.IsCanceled)
                    ThrowIfLoginCut();
                if (FrameReader.TryReadFrame(ref buffer, MaxLoginMessageLength, out var header, out var frame))
                {
                    if (header.Code != FrontendCode.Password)
                        throw new ProtocolViolationException($"expected a password message, got message type '{(char)header.Code}'");
                    return frame.Slice(FrameHeader.Size).ToArray();
                }
                if (result.IsCompleted)
                    throw new IOException("client closed the connection during authentication");
            }
            finally
            {
                _input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
    }

    /// <summary>SASLInitialResponse: the mechanism (only ours is accepted), then the client-first-message.</summary>
    private static ReadOnlySpan<byte> SaslInitialResponseData(ReadOnlySpan<byte> body)
    {
        var end = body.IndexOf((byte)0);
        if (end < 0)
            throw new ProtocolViolationException("malformed SASLInitialResponse");
        if (!body[..end].SequenceEqual(ScramMechanism))
            throw new PgErrorException(PgErrors.ProtocolViolation(
                $"client selected an invalid SASL authentication mechanism \"{Encoding.UTF8.GetString(body[..end])}\""));
        body = body[(end + 1)..];
        if (body.Length < 4)
            throw new ProtocolViolationException("malformed SASLInitialResponse");
        var length = System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(body);
        body = body.Slice(4);
        if (length < 0 || length != body.Length)
            throw new ProtocolViolationException("malformed SASLInitialResponse length");
        return body;
    }

    private static ReadOnlySpan<byte> ScramMechanism => "SCRAM-SHA-256"u8;

    /// <summary>ParameterStatus values must come from a real server: the first login of a pool opens one. (A
    /// ValueTask: every later login returns the known values without allocating a task for them.)</summary>
    private async ValueTask<IReadOnlyList<KeyValuePair<string, string>>> GetServerParametersAsync(ServerPool pool)
    {
        if (pool.ServerParameters is { } known)
            return known;
        IPooledConnection server;
        try
        {
            server = await pool.RentAsync(LoginWaitToken()).ConfigureAwait(false);
        }
        catch (ServerLoginException ex)
        {
            throw new PgErrorException(ex.Error);
        }
        catch (PoolWaitTimeoutException ex)
        {
            throw new PgErrorException(PgErrors.QueryWaitTimeout(ex.Key.Database, ex.Key.User, ex.Waited, ex.Size));
        }
        var parameters = ((ServerConnection)server).StartupParameters.ToArray();
        pool.ServerParameters = parameters;
        pool.Return(server);
        return parameters;
    }

    /// <summary>PostgreSQL refuses a connection whose startup settings it rejects (unknown name, bad value). The
    /// pooler applies them later, pipelined and unchecked, so it checks new ones here once per pool: each SET on
    /// an idle server as its own query, then RESET ALL. A rejected one ends the login with PostgreSQL's error.</summary>
    private async Task ValidateSettingsAsync(ServerPool pool)
    {
        if (_desired is null)
            return;
        List<KeyValuePair<string, string>>? unchecked_ = null;
        foreach (var setting in _desired)
            if (!pool.ValidatedSettings.ContainsKey(setting.Key + "=" + setting.Value))
                (unchecked_ ??= []).Add(setting);
        if (unchecked_ is null)
            return;

        var cancellationToken = LoginWaitToken();
        IPooledConnection rented;
        try { rented = await pool.RentAsync(cancellationToken).ConfigureAwait(false); }
        catch (ServerLoginException ex) { throw new PgErrorException(ex.Error); }
        catch (PoolWaitTimeoutException ex) { throw new PgErrorException(PgErrors.QueryWaitTimeout(ex.Key.Database, ex.Key.User, ex.Waited, ex.Size)); }

        var server = (ServerConnection)rented;
        PgError? refused = null;
        try
        {
            foreach (var (name, value) in unchecked_)
            {
                refused = await server.ExecuteAsync($"SET {QuoteIdentifier(name)} TO {QuoteLiteral(value)}", cancellationToken).ConfigureAwait(false);
                if (refused is not null)
                    break;
                if (pool.ValidatedSettings.Count < ServerPool.MaxValidatedSettings)
                    pool.ValidatedSettings.TryAdd(name + "=" + value, 0);
            }
            if (await server.ExecuteAsync("RESET ALL", cancellationToken).ConfigureAwait(false) is { } resetError)
                throw new IOException("RESET ALL failed: " + resetError.Message);
            server.Parameters.Clear();
            foreach (var (name, value) in server.StartupParameters)
                server.Parameters[name] = value;
            pool.Return(server);
        }
        catch (Exception ex)
        {
            // Whatever went wrong, this server's state is unknown: it leaves the pool.
            pool.Discard(server, DisconnectReason.Error);
            if (ex is ServerLoginException lost)
                throw new PgErrorException(lost.Error);
            throw;
        }
        if (refused is not null)
            throw new PgErrorException(refused with { Severity = "FATAL" });
    }

    /// <summary>The ParameterStatus messages of the welcome: the server's values, the client's own settings where it
    /// asked for some. Encoded once and kept on the pool for the next client with the same settings table (clients
    /// with equal startup settings share one, ServerPool.ShareSettings): ≈14 messages not encoded again per login.</summary>
    private byte[] WelcomeParameters(IReadOnlyList<KeyValuePair<string, string>> serverParameters)
    {
        var version = _desired?.Version ?? 0; // unique across all tables: it names this exact content
        if (Volatile.Read(ref _pool!.WelcomeCache) is EncodedWelcome cached && ReferenceEquals(cached.Server, serverParameters)
            && cached.Version == version)
            return cached.Bytes;
        var encoded = new ArrayBufferWriter<byte>(512);
        foreach (var (name, value) in serverParameters)
            MessageWriter.WriteParameterStatus(encoded, name, DesiredValue(name) ?? value);
        var bytes = encoded.WrittenSpan.ToArray();
        // One slot: clients of a pool usually log in with the same settings; alternating ones just re-encode.
        Volatile.Write(ref _pool.WelcomeCache, new EncodedWelcome(serverParameters, version, bytes));
        return bytes;
    }

    private sealed record EncodedWelcome(IReadOnlyList<KeyValuePair<string, string>> Server, long Version, byte[] Bytes);

    private async Task WelcomeAsync(IReadOnlyList<KeyValuePair<string, string>> serverParameters)
    {
        MessageWriter.WriteAuthentication(_output, AuthCode.Ok);
        _output.Write(WelcomeParameters(serverParameters));
        int secretKey;
        (_processId, secretKey) = _context.CancelKeys.Register(this);
        MessageWriter.WriteBackendKeyData(_output, _processId, secretKey);
        MessageWriter.WriteReadyForQuery(_output, TransactionStatus.Idle);
        await _output.FlushAsync().ConfigureAwait(false);
    }
}
