// One connection to PostgreSQL: connect with a timeout, authenticate, remember ParameterStatus and the real
// BackendKeyData (for cancels), and report whether it is still usable while idle.
using System.Buffers;
using System.IO.Pipelines;
using Tuki.Pool.Pooler.Auth;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Pooling;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Pooler.Transport;

namespace Tuki.Pool.Pooler.Servers;

public sealed class ServerConnection : IPooledConnection
{
    private readonly SocketPipe _transport;
    private readonly IDuplexPipe _pipe;   // the socket's, or the TLS one over it
    private int _closed;

    private ServerConnection(SocketPipe transport, IDuplexPipe pipe, ServerTarget target, long createdTimestamp)
    {
        _transport = transport;
        _pipe = pipe;
        Target = target;
        CreatedTimestamp = createdTimestamp;
    }

    public ServerTarget Target { get; }
    public PipeReader Input => _pipe.Input;
    public PipeWriter Output => _pipe.Output;
    public int ProcessId { get; private set; }
    public int SecretKey { get; private set; }
    public long CreatedTimestamp { get; }
    public long IdleSinceTimestamp { get; set; }
    public DisconnectReason? CloseReason { get; private set; }
    public int Generation { get; set; }
    public System.Net.EndPoint? LocalEndPoint => _transport.LocalEndPoint;

    /// <summary>Called once when the connection closes, with its reason (metrics and the server list).</summary>
    public Action<ServerConnection, DisconnectReason>? Closed { get; set; }

    /// <summary>Current values of the parameters the server reports (ParameterStatus), updated as they change.
    /// Also records session settings the pooler applied for a client (see ClientSession's parameter sync).</summary>
    public ParameterTable Parameters { get; } = new();

    /// <summary>The client settings (<see cref="ParameterTable.ContentKey"/>) this server was last made to match, and
    /// <see cref="Parameters"/>' version right after: while both still hold, the next client with the same settings
    /// needs no sync at all.</summary>
    public string? SyncedSettings { get; set; }
    public long SyncedVersion { get; set; }

    /// <summary>The parameters reported at startup, in the order received (what a new client is told).</summary>
    public List<KeyValuePair<string, string>> StartupParameters { get; } = [];

    public bool IsClosed => Volatile.Read(ref _closed) != 0;

    /// <summary>Set when a settings query of the pooler failed: <see cref="Parameters"/> may not match the server,
    /// so the server must not be reused.</summary>
    public bool ParametersUncertain { get; set; }

    /// <summary>The pooler-named prepared statements this server holds (transaction mode); created by the first
    /// client that needs it, with the pool's <c>max_prepared_statements</c>.</summary>
    public Statements.ServerStatementCache? Statements { get; set; }

    /// <summary>A DISCARD/DEALLOCATE failed part-way, so <see cref="Statements"/> may be wrong: the server is
    /// cleaned with DEALLOCATE ALL before its next client.</summary>
    public bool StatementsUncertain { get; set; }

    public static async Task<ServerConnection> ConnectAsync(ServerTarget target, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(target.ConnectTimeout);
        SocketPipe transport;
        try
        {
            transport = await Connection.ConnectAsync(target.Host, target.Port, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ServerLoginException(PgErrors.ServerUnavailable(target.Database, $"connect to {target.Host}:{target.Port} timed out after {target.ConnectTimeout.TotalSeconds:0.###}s"));
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException)
        {
            throw new ServerLoginException(PgErrors.ServerUnavailable(target.Database, $"connect to {target.Host}:{target.Port} failed: {ex.Message}"), ex);
        }

        IDuplexPipe pipe;
        try
        {
            pipe = await NegotiateTlsAsync(transport, target, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            transport.Dispose();
            if (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested)
                throw new ServerLoginException(PgErrors.ServerUnavailable(target.Database, $"TLS negotiation did not finish within {target.ConnectTimeout.TotalSeconds:0.###}s"));
            if (ex is System.Security.Authentication.AuthenticationException or IOException or System.Security.Cryptography.CryptographicException)
                throw new ServerLoginException(PgErrors.ServerUnavailable(target.Database, $"TLS with {target.Host}:{target.Port} failed: {ex.Message}"), ex);
            throw;
        }

        var server = new ServerConnection(transport, pipe, target, TimeProvider.System.GetTimestamp());
        try
        {
            await server.LoginAsync(timeout.Token).ConfigureAwait(false);
            return server;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            server.Close(DisconnectReason.Error);
            throw new ServerLoginException(PgErrors.ServerUnavailable(target.Database, $"login did not finish within {target.ConnectTimeout.TotalSeconds:0.###}s (pool.timeouts.server_connect)"));
        }
        catch
        {
            server.Close(DisconnectReason.Error);
            throw;
        }
    }

    /// <summary>SSLRequest first unless server_tls.mode is disable; 'S' → TLS with the mode's checks, 'N' → cleartext
    /// only for prefer.</summary>
    private static async Task<IDuplexPipe> NegotiateTlsAsync(SocketPipe transport, ServerTarget target, CancellationToken cancellationToken)
    {
        var mode = target.Tls.Mode;
        if (mode == ServerTlsMode.Disable)
            return transport;
        MessageWriter.WriteSslRequest(transport.Output);
        await transport.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        byte answer;
        while (true)
        {
            var result = await transport.Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (result.Buffer.IsEmpty && result.IsCompleted)
                throw new IOException("PostgreSQL closed the connection after SSLRequest");
            if (result.Buffer.IsEmpty)
            {
                transport.Input.AdvanceTo(result.Buffer.Start);
                continue;
            }
            answer = result.Buffer.FirstSpan[0];
            // Bytes after 'S' would have been sent in cleartext before the handshake (CVE-2021-23222): refuse.
            var extra = result.Buffer.Length > 1;
            transport.Input.AdvanceTo(result.Buffer.GetPosition(1));
            if (extra && answer == (byte)'S')
                throw new IOException("unexpected data after the server's SSL answer");
            break;
        }
        if (answer == (byte)'S')
            return await Tls.ConnectAsync(transport, target.Host, verifyChain: mode >= ServerTlsMode.VerifyCa,
                verifyName: mode == ServerTlsMode.VerifyFull, target.TrustedRoots, cancellationToken).ConfigureAwait(false);
        if (answer != (byte)'N')
            throw new IOException($"unexpected answer '{(char)answer}' to SSLRequest");
        if (mode != ServerTlsMode.Prefer)
            throw new IOException($"PostgreSQL does not accept TLS, and server_tls.mode is {EnumSpellings.NameOf(mode)}");
        return transport;
    }

    /// <summary>StartupMessage, then answer whatever authentication PostgreSQL asks for, then collect
    /// ParameterStatus and BackendKeyData until ReadyForQuery.</summary>
    private async Task LoginAsync(CancellationToken cancellationToken)
    {
        MessageWriter.WriteStartupMessage(Output, [new("user", Target.User), new("database", Target.Database)]);
        await Output.FlushAsync(cancellationToken).ConfigureAwait(false);

        ScramClient? scram = null;
        await ReadUntilReadyAsync((code, body) =>
        {
            switch (code)
            {
                case BackendCode.Authentication:
                    scram = AnswerAuthentication(body, scram);
                    break;
                case BackendCode.ParameterStatus:
                    var (name, value) = MessageParser.ParameterStatus(body);
                    Parameters[name] = value;
                    StartupParameters.Add(new(name, value));
                    break;
                case BackendCode.BackendKeyData:
                    (ProcessId, SecretKey) = MessageParser.BackendKeyData(body);
                    break;
                case BackendCode.ErrorResponse:
                    var error = MessageParser.ErrorResponse(body);
                    throw new ServerLoginException(error.Code is SqlState.InvalidPassword or SqlState.InvalidAuthorizationSpecification
                        ? PgErrors.ServerLoginFailed(Target.Database, error.Message)
                        : error with { Severity = "FATAL" });
                // NoticeResponse and NegotiateProtocolVersion need no answer.
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    private delegate void FrameHandler(byte code, ReadOnlySpan<byte> body);

    /// <summary>Reads whole messages until ReadyForQuery, handing each other one to <paramref name="handle"/> and
    /// flushing whatever the handler wrote (authentication answers) after each read. Used only while no client is
    /// bound: at login and for login-time checks.</summary>
    private async Task ReadUntilReadyAsync(FrameHandler handle, CancellationToken cancellationToken)
    {
        byte[]? scratch = null;
        while (true)
        {
            var result = await Input.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var done = false;
            try
            {
                while (!done && FrameReader.TryReadFrame(ref buffer, 1024 * 1024, out var header, out var frame))
                {
                    if (header.Code == BackendCode.ReadyForQuery)
                        done = true;
                    else
                        handle(header.Code, FrameReader.Body(frame, ref scratch));
                }
            }
            finally
            {
                Input.AdvanceTo(buffer.Start, buffer.End);
            }
            if (done)
                return;
            await Output.FlushAsync(cancellationToken).ConfigureAwait(false);
            if (result.IsCompleted)
                throw new ServerLoginException(PgErrors.ServerUnavailable(Target.Database, "PostgreSQL closed the connection"));
        }
    }

    /// <summary>Runs one simple query while no client is bound (login-time checks) and returns its first error, or
    /// null. Reported parameter changes are recorded; rows are discarded.</summary>
    public async Task<PgError?> ExecuteAsync(string sql, CancellationToken cancellationToken)
    {
        MessageWriter.WriteQuery(Output, sql);
        await Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        PgError? error = null;
        await ReadUntilReadyAsync((code, body) =>
        {
            if (code == BackendCode.ErrorResponse)
                error ??= MessageParser.ErrorResponse(body);
            else if (code == BackendCode.ParameterStatus)
            {
                var (name, value) = MessageParser.ParameterStatus(body);
                Parameters[name] = value;
            }
        }, cancellationToken).ConfigureAwait(false);
        return error;
    }

    /// <summary>Runs one simple query while no client is bound and returns its rows (text format) or its error.</summary>
    public async Task<(List<string?[]> Rows, PgError? Error)> QueryAsync(string sql, CancellationToken cancellationToken)
    {
        MessageWriter.WriteQuery(Output, sql);
        await Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        var rows = new List<string?[]>();
        PgError? error = null;
        await ReadUntilReadyAsync((code, body) =>
        {
            if (code == BackendCode.DataRow)
                rows.Add(MessageParser.DataRow(body));
            else if (code == BackendCode.ErrorResponse)
                error ??= MessageParser.ErrorResponse(body);
            else if (code == BackendCode.ParameterStatus)
            {
                var (name, value) = MessageParser.ParameterStatus(body);
                Parameters[name] = value;
            }
        }, cancellationToken).ConfigureAwait(false);
        return (rows, error);
    }

    /// <summary>After a reset query (DISCARD ALL): nothing prepared, and every setting not reported again is back
    /// at its connection-time value.</summary>
    public void ForgetSessionState()
    {
        Statements?.Clear();
        StatementsUncertain = false;
        foreach (var name in Parameters.Keys.ToList())
            if (!StartupParameters.Exists(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)))
                Parameters.Remove(name);
    }

    private ScramClient? AnswerAuthentication(ReadOnlySpan<byte> body, ScramClient? scram)
    {
        var code = MessageParser.AuthenticationCode(body);
        var data = body.Slice(4);
        switch (code)
        {
            case AuthCode.Ok:
                // Once SCRAM started, only a server that proved its key may say Ok (no downgrade by an impostor).
                if (scram is not null && !scram.ServerVerified)
                    throw new ServerLoginException(PgErrors.ServerLoginFailed(Target.Database, "PostgreSQL ended SCRAM authentication without proving its identity"));
                return scram;
            case AuthCode.CleartextPassword:
                MessageWriter.WritePasswordMessage(Output, RequirePassword());
                return scram;
            case AuthCode.Md5Password:
                MessageWriter.WritePasswordMessage(Output, Md5Password.Response(RequirePassword(), Target.User, data.Slice(0, 4)));
                return scram;
            case AuthCode.Sasl:
                if (!ContainsMechanism(data, ScramServer.Mechanism))
                    throw new ServerLoginException(PgErrors.UnsupportedAuth("SASL without SCRAM-SHA-256"));
                scram = Target.Password is { } password && !ScramSecret.IsVerifier(password)
                    ? new ScramClient(password, Target.SaltedPasswords)
                    : ScramClient.FromKeys(Target.Keys?.Invoke() ?? throw new ServerLoginException(PgErrors.ServerLoginFailed(Target.Database,
                        $"pooler.yaml has no plain password for user \"{Target.User}\" and no client of it has logged in with SCRAM yet to pass its keys through")));
                MessageWriter.WriteSaslInitialResponse(Output, ScramServer.Mechanism, System.Text.Encoding.UTF8.GetBytes(scram.ClientFirst()));
                return scram;
            case AuthCode.SaslContinue when scram is not null:
                string clientFinal;
                try { clientFinal = scram.ClientFinal(System.Text.Encoding.UTF8.GetString(data)); }
                catch (ScramException ex) { throw new ServerLoginException(PgErrors.ServerLoginFailed(Target.Database, ex.Message)); }
                MessageWriter.WriteSaslResponse(Output, System.Text.Encoding.UTF8.GetBytes(clientFinal));
                return scram;
            case AuthCode.SaslFinal when scram is not null:
                try { scram.VerifyServerFinal(System.Text.Encoding.UTF8.GetString(data)); }
                catch (ScramException ex) { throw new ServerLoginException(PgErrors.ServerLoginFailed(Target.Database, ex.Message)); }
                return scram;
            default:
                throw new ServerLoginException(PgErrors.UnsupportedAuth($"code {code}"));
        }
    }

    private string RequirePassword() =>
        Target.Password ?? throw new ServerLoginException(PgErrors.ServerLoginFailed(Target.Database, $"PostgreSQL asks user \"{Target.User}\" for a password and pooler.yaml has none"));

    private static bool ContainsMechanism(ReadOnlySpan<byte> list, string mechanism)
    {
        while (list.Length > 0 && list[0] != 0)
        {
            if (MessageParser.CString(ref list) == mechanism)
                return true;
        }
        return false;
    }

    /// <summary>An idle server must have sent nothing: bytes (a FATAL from pg_terminate_backend, a notice) or EOF
    /// mean it cannot be handed to a client.</summary>
    public bool CheckUsable()
    {
        if (IsClosed)
            return false;
        try
        {
            if (!Input.TryRead(out var result))
                return true;
            var clean = result.Buffer.IsEmpty && !result.IsCompleted && !result.IsCanceled;
            Input.AdvanceTo(result.Buffer.Start);
            return clean;
        }
        catch (Exception ex) when (ConnectionErrors.IsDisconnect(ex))
        {
            return false; // the pipe completed with the socket's error (reset, keepalive timeout)
        }
    }

    public void Close(DisconnectReason reason)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
            return;
        CloseReason = reason;
        Closed?.Invoke(this, reason);
        try
        {
            // Terminate lets PostgreSQL end the backend cleanly instead of logging an unexpected EOF.
            MessageWriter.WriteTerminate(Output);
            _ = Output.FlushAsync();
        }
        catch
        {
            // The socket may already be gone; closing is all that matters.
        }
        _transport.Dispose();
    }

    // Cancels in flight hold the server back from the pool (see ClientSession.Cancel).
    private readonly Lock _cancelSync = new();
    private int _cancelsInFlight;
    private bool _parkedForCancel;

    public void BeginCancel()
    {
        lock (_cancelSync) _cancelsInFlight++;
    }

    /// <summary>True when the server was released while a cancel was in flight: the caller must return it to the pool.</summary>
    public bool EndCancel()
    {
        lock (_cancelSync)
        {
            _cancelsInFlight--;
            if (_cancelsInFlight > 0 || !_parkedForCancel)
                return false;
            _parkedForCancel = false;
            return true;
        }
    }

    /// <summary>Called on release: true when a cancel is in flight, in which case its sender returns the server.</summary>
    public bool TryParkForCancel()
    {
        lock (_cancelSync)
        {
            if (_cancelsInFlight == 0)
                return false;
            _parkedForCancel = true;
            return true;
        }
    }

    /// <summary>Sends a CancelRequest for this server's backend on a new connection and waits until PostgreSQL has
    /// taken it (it closes the connection once the backend is signalled). Failures are ignored: a cancel is advisory.</summary>
    public async Task SendCancelAsync()
    {
        using var timeout = new CancellationTokenSource(Target.ConnectTimeout);
        try
        {
            using var connection = await Connection.ConnectShortLivedAsync(Target.Host, Target.Port, timeout.Token).ConfigureAwait(false);
            MessageWriter.WriteCancelRequest(connection.Output, ProcessId, SecretKey);
            await connection.Output.FlushAsync(timeout.Token).ConfigureAwait(false);
            while (true)
            {
                var result = await connection.Input.ReadAsync(timeout.Token).ConfigureAwait(false);
                connection.Input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted)
                    break;
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or System.Net.Sockets.SocketException or ObjectDisposedException)
        {
        }
    }

    public override string ToString() => $"server {Target} pid={ProcessId}";
}
