// One real PostgreSQL server for the whole integration-test run, shared by every test in the
// "postgres" collection (PgBouncer's session-scoped `pg` fixture in test/conftest.py).
// Where the server comes from, first match wins:
//   1. env TUKI_TEST_PG: an Npgsql connection string for an existing superuser;
//   2. a Docker engine that answers /_ping within 2 s: Testcontainers, image postgres:15;
//   3. the machine's PostgreSQL binaries: a throwaway initdb/pg_ctl cluster in a temp directory
//      (run as the `postgres` OS user when we are root, because initdb refuses root), stopped
//      with `pg_ctl -m immediate` and deleted on dispose.
// Each scenario calls CreateDatabaseAsync for its own database and SCRAM login role, so pools,
// prepared statements and backends never leak from one test into another.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using Testcontainers.PostgreSql;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Tuki.Pool.Pooler.IntegrationTests.Fixtures;

/// <summary>Tests that need PostgreSQL join this collection with <c>[Collection("postgres")]</c>
/// and take a <see cref="PostgresFixture"/> in their constructor. Kept beside the fixture because
/// the two only make sense together.</summary>
[CollectionDefinition("postgres")]
public sealed class PostgresCollection : ICollectionFixture<PostgresFixture>
{
}

/// <summary>The shared PostgreSQL server (see the top of this file for where it comes from).</summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    /// <summary>Environment variable naming an existing server: an Npgsql connection string for a superuser.</summary>
    public const string ConnectionStringVariable = "TUKI_TEST_PG";

    const string DockerImage = "postgres:15";

    // Settings for servers we start ourselves: room for limit tests (the pooler's caps are tested
    // well below 300), durability off because every byte is thrown away, SCRAM verifiers for roles.
    static readonly string[] ServerSettings =
    [
        "max_connections=300",
        "fsync=off",
        "synchronous_commit=off",
        "full_page_writes=off",
        "password_encryption=scram-sha-256",
    ];

    readonly IMessageSink _diagnostics;
    readonly string _runId = RandomToken(3); // 6 hex chars: names stay unique across runs on a shared server
    readonly List<(string Database, string User)> _created = [];
    int _counter;
    NpgsqlDataSource? _superuser;
    PostgreSqlContainer? _container;
    IAsyncDisposable? _cluster; // a LocalCluster (typed loosely: that class is not for Windows)

    /// <summary>xunit passes a sink for diagnostic messages (shown with <c>diagnosticMessages</c> on).</summary>
    public PostgresFixture(IMessageSink diagnostics) => _diagnostics = diagnostics;

    /// <summary>Host of the server as clients (and the pooler) reach it; <c>127.0.0.1</c> for a local cluster.</summary>
    public string Host { get; private set; } = "127.0.0.1";

    /// <summary>TCP port of the server.</summary>
    public int Port { get; private set; }

    /// <summary>Npgsql connection string for a superuser, database <c>postgres</c>.</summary>
    public string SuperuserConnectionString { get; private set; } = "";

    /// <summary>Directory of the PostgreSQL binaries when the fixture started a local cluster; null for
    /// Testcontainers or <c>TUKI_TEST_PG</c> (then <see cref="FindTool"/> looks on PATH).</summary>
    public string? BinDir { get; private set; }

    /// <summary>Where the server came from, for messages: "TUKI_TEST_PG", "Testcontainers postgres:15", "local cluster (…)".</summary>
    public string Description { get; private set; } = "";

    NpgsqlDataSource Superuser => _superuser ?? throw new InvalidOperationException("PostgresFixture is not initialized.");

    /// <inheritdoc />
    public async Task InitializeAsync()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable(ConnectionStringVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            UseExistingServer(fromEnvironment);
        }
        else if (await DockerAnswersAsync())
        {
            try
            {
                await StartContainerAsync();
            }
            catch (Exception e) when (FindPostgresBinDir() is not null)
            {
                // An engine that answers but cannot pull or run the image (no registry access in CI)
                // should not fail the run when the machine has PostgreSQL itself.
                Log($"Testcontainers failed ({e.GetType().Name}: {e.Message}); falling back to a local cluster.");
                if (_container is not null)
                {
                    await _container.DisposeAsync();
                    _container = null;
                }
                await StartLocalClusterAsync();
            }
        }
        else
        {
            await StartLocalClusterAsync();
        }

        _superuser = NpgsqlDataSource.Create(SuperuserConnectionString);
        await VerifySuperuserAsync();
        Log($"PostgreSQL for integration tests: {Description} at {Host}:{Port}");
    }

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        // Tests' own pooled connections would keep backends (and their databases) alive.
        NpgsqlConnection.ClearAllPools();
        if (_superuser is not null)
        {
            if (_container is null && _cluster is null)
            {
                await DropCreatedAsync(); // a server that outlives us is left as we found it
            }
            await _superuser.DisposeAsync();
        }
        if (_container is not null)
        {
            await _container.DisposeAsync();
        }
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }

    /// <summary>Creates a fresh database and a login role with a SCRAM-SHA-256 password, owner of that
    /// database. Names are <c>{prefix}_db_{run}_{n}</c> and <c>{prefix}_u_{run}_{n}</c>: unique per call,
    /// and different from each other so a pooler that mixes up database and user is caught.</summary>
    /// <param name="prefix">Readable part of the names (lowercased; anything but a-z, 0-9 and _ becomes _).</param>
    /// <param name="password">The role's password; a random 24-character one when null.</param>
    public async Task<(string Database, string User, string Password)> CreateDatabaseAsync(string prefix, string? password = null)
    {
        var n = Interlocked.Increment(ref _counter);
        var stem = Sanitize(prefix);
        var database = $"{stem}_db_{_runId}_{n}";
        var user = $"{stem}_u_{_runId}_{n}";
        password ??= RandomPassword();

        await using var connection = await Superuser.OpenConnectionAsync();
        await ExecuteAsync(connection, "SET password_encryption = 'scram-sha-256'");
        // DDL takes no parameters: the server quotes the identifiers and the literal itself.
        await ExecuteFormattedAsync(connection, "SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', $1, $2)", user, password);
        await ExecuteFormattedAsync(connection, "SELECT format('CREATE DATABASE %I OWNER %I', $1, $2)", database, user);
        lock (_created)
        {
            _created.Add((database, user));
        }
        return (database, user, password);
    }

    /// <summary>Npgsql connection string straight to PostgreSQL (not through the pooler), with
    /// <c>Pooling=false</c> so the fixture itself never leaves idle backends behind.</summary>
    public string ConnectionString(string database, string user, string password) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Database = database,
            Username = user,
            Password = password,
            Pooling = false,
            ApplicationName = DirectApplicationName,
        }.ConnectionString;

    // Marks the tests' own direct connections, so counting the pooler's backends never counts one of them (a closed
    // one lingers in pg_stat_activity until its backend has exited, which a loaded machine makes visible).
    private const string DirectApplicationName = "tests-direct";

    /// <summary>Number of client backends connected to <paramref name="database"/> as <paramref name="user"/>
    /// right now, from <c>pg_stat_activity</c>, not counting the tests' own direct connections.</summary>
    public async Task<int> CountBackendsAsync(string database, string user)
    {
        await using var command = Superuser.CreateCommand(
            "SELECT count(*)::int FROM pg_stat_activity WHERE datname = $1 AND usename = $2 AND backend_type = 'client backend' " +
            $"AND application_name IS DISTINCT FROM '{DirectApplicationName}'");
        command.Parameters.Add(new NpgsqlParameter { Value = database });
        command.Parameters.Add(new NpgsqlParameter { Value = user });
        return (int)(await command.ExecuteScalarAsync())!;
    }

    /// <summary>A throwaway cluster of its own (same settings as the shared one), for tests that stop or restart
    /// PostgreSQL; null when this fixture has no local binaries (TUKI_TEST_PG or Docker), and those tests skip.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    internal static async Task<LocalCluster?> StartDedicatedClusterAsync() =>
        FindPostgresBinDir() is { } binDir ? await LocalCluster.StartAsync(binDir, ServerSettings) : null;

    /// <summary>Full path of a PostgreSQL client tool (<c>psql</c>, <c>pgbench</c>, …), or null when the machine
    /// has none: tests that drive real tools skip then. Looks in <see cref="BinDir"/>, then PATH, then the
    /// newest <c>/usr/lib/postgresql/*/bin</c>.</summary>
    public string? FindTool(string name)
    {
        if (BinDir is not null && IsExecutable(Path.Combine(BinDir, name)))
        {
            return Path.Combine(BinDir, name);
        }
        var onPath = FindOnPath(name);
        if (onPath is not null)
        {
            return onPath;
        }
        var binDir = FindPostgresBinDir();
        return binDir is not null && IsExecutable(Path.Combine(binDir, name)) ? Path.Combine(binDir, name) : null;
    }

    // ---- 1. TUKI_TEST_PG -------------------------------------------------------------------------

    void UseExistingServer(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        Host = builder.Host ?? throw new InvalidOperationException($"{ConnectionStringVariable} has no Host.");
        Port = builder.Port;
        SuperuserConnectionString = builder.ConnectionString;
        Description = ConnectionStringVariable;
    }

    // ---- 2. Docker -------------------------------------------------------------------------------

    /// <summary>True when a Docker engine answers <c>GET /_ping</c> (DOCKER_HOST, else /var/run/docker.sock)
    /// within two seconds. A missing socket answers false at once.</summary>
    static async Task<bool> DockerAnswersAsync()
    {
        var dockerHost = Environment.GetEnvironmentVariable("DOCKER_HOST");
        EndPoint endpoint;
        if (string.IsNullOrEmpty(dockerHost) || dockerHost.StartsWith("unix://", StringComparison.Ordinal))
        {
            var path = string.IsNullOrEmpty(dockerHost) ? "/var/run/docker.sock" : dockerHost["unix://".Length..];
            if (!File.Exists(path))
            {
                return false;
            }
            endpoint = new UnixDomainSocketEndPoint(path);
        }
        else if (Uri.TryCreate(dockerHost, UriKind.Absolute, out var uri) && uri.Scheme == "tcp")
        {
            endpoint = new DnsEndPoint(uri.Host, uri.Port);
        }
        else
        {
            return false;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        try
        {
            using var socket = endpoint is UnixDomainSocketEndPoint
                ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
                : new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(endpoint, timeout.Token);
            if (endpoint is DnsEndPoint && Environment.GetEnvironmentVariable("DOCKER_TLS_VERIFY") is { Length: > 0 })
            {
                return true; // a TLS engine accepted the connection; a plain-text ping would not be understood
            }
            await socket.SendAsync("GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n"u8.ToArray(), SocketFlags.None, timeout.Token);
            var buffer = new byte[256];
            var read = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            var statusLine = Encoding.ASCII.GetString(buffer, 0, read);
            return statusLine.StartsWith("HTTP/1.", StringComparison.Ordinal) && statusLine.Contains(" 200 ", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or IOException)
        {
            return false;
        }
    }

    async Task StartContainerAsync()
    {
        var command = ServerSettings.SelectMany(setting => new[] { "-c", setting }).ToArray();
        _container = new PostgreSqlBuilder(DockerImage)
            .WithUsername("postgres")
            .WithPassword(RandomPassword())
            .WithDatabase("postgres")
            .WithCommand(command)
            .Build();
        await _container.StartAsync();
        Host = _container.Hostname;
        Port = _container.GetMappedPublicPort(5432);
        SuperuserConnectionString = _container.GetConnectionString();
        Description = $"Testcontainers {DockerImage}";
    }

    // ---- 3. Local binaries -----------------------------------------------------------------------

    async Task StartLocalClusterAsync()
    {
        if (OperatingSystem.IsWindows())
        {
            throw new PlatformNotSupportedException("On Windows, set TUKI_TEST_PG or run Docker: the local-cluster fallback is for Linux/macOS.");
        }
        var binDir = FindPostgresBinDir() ?? throw new InvalidOperationException(
            "No PostgreSQL for the integration tests: set TUKI_TEST_PG to a superuser connection string, " +
            "start a Docker engine, or install PostgreSQL (Debian: apt-get install postgresql postgresql-contrib; " +
            "./test.sh does this when run as root).");
        var cluster = await LocalCluster.StartAsync(binDir, ServerSettings);
        _cluster = cluster;
        BinDir = binDir;
        Host = "127.0.0.1";
        Port = cluster.Port;
        SuperuserConnectionString = new NpgsqlConnectionStringBuilder
        {
            Host = Host,
            Port = Port,
            Username = "postgres",
            Password = cluster.SuperuserPassword,
            Database = "postgres",
        }.ConnectionString;
        Description = $"local cluster ({binDir}, data in {cluster.Root}, TLS on)";
        await EnableTlsAsync(cluster);
    }

    /// <summary>PEM files of the CA that signed the local cluster's certificate (localhost, 127.0.0.1), for tests of
    /// server_tls verify-full; null when the server is not the fixture's own cluster.</summary>
    public TestCertificates? ServerCertificates { get; private set; }

    /// <summary>The local cluster serves TLS too (ssl=on, reloaded), so the pooler's default server_tls (prefer)
    /// takes the TLS path in every integration test.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    async Task EnableTlsAsync(LocalCluster cluster)
    {
        var certificates = TestCertificates.Create(Path.Combine(cluster.Root, "tls"));
        if (Environment.IsPrivilegedProcess)
        {
            await RunCheckedAsync("chown", ["-R", "postgres:postgres", certificates.Directory], asPostgres: false, cluster.Root, TimeSpan.FromSeconds(30));
        }
        await using var connection = new NpgsqlConnection(SuperuserConnectionString + ";Pooling=false");
        await connection.OpenAsync();
        foreach (var sql in new[]
        {
            $"ALTER SYSTEM SET ssl_cert_file = '{certificates.CertificateFile}'",
            $"ALTER SYSTEM SET ssl_key_file = '{certificates.KeyFile}'",
            "ALTER SYSTEM SET ssl = on",
            "SELECT pg_reload_conf()",
        })
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await command.ExecuteNonQueryAsync();
        }
        ServerCertificates = certificates;
    }

    /// <summary>Directory holding initdb and pg_ctl: <c>pg_config --bindir</c>, else the newest
    /// <c>/usr/lib/postgresql/*/bin</c> (Debian/Ubuntu), else where <c>initdb</c> on PATH really lives,
    /// else <c>/usr/local/pgsql/bin</c>. Null when none has both.</summary>
    static string? FindPostgresBinDir()
    {
        static bool HasServer(string? dir) =>
            dir is not null && IsExecutable(Path.Combine(dir, "initdb")) && IsExecutable(Path.Combine(dir, "pg_ctl"));

        if (PgConfigBinDir() is { } configured && HasServer(configured))
        {
            return configured;
        }

        if (Directory.Exists("/usr/lib/postgresql"))
        {
            var newest = Directory.GetDirectories("/usr/lib/postgresql")
                .Select(versionDir => (Version: decimal.TryParse(Path.GetFileName(versionDir), System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0m, Bin: Path.Combine(versionDir, "bin")))
                .Where(candidate => HasServer(candidate.Bin))
                .OrderByDescending(candidate => candidate.Version)
                .Select(candidate => candidate.Bin)
                .FirstOrDefault();
            if (newest is not null)
            {
                return newest;
            }
        }

        var initdb = FindOnPath("initdb");
        if (initdb is not null)
        {
            var target = File.ResolveLinkTarget(initdb, returnFinalTarget: true)?.FullName ?? initdb;
            var dir = Path.GetDirectoryName(target);
            if (HasServer(dir))
            {
                return dir;
            }
        }

        return HasServer("/usr/local/pgsql/bin") ? "/usr/local/pgsql/bin" : null;
    }

    /// <summary><c>pg_config --bindir</c>, or null. Synchronous on purpose: <see cref="FindTool"/> is, and
    /// blocking on an async helper inside xunit's synchronization context invites deadlocks.</summary>
    static string? PgConfigBinDir()
    {
        var pgConfig = FindOnPath("pg_config");
        if (pgConfig is null)
        {
            return null;
        }
        try
        {
            using var process = Process.Start(new ProcessStartInfo(pgConfig, "--bindir")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            });
            if (process is null)
            {
                return null;
            }
            var output = process.StandardOutput.ReadToEnd();
            return process.WaitForExit(10_000) && process.ExitCode == 0 ? output.Trim() : null;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null;
        }
    }

    /// <summary>A throwaway cluster in <c>{tmp}/tuki-pg-{random}</c>: <c>data/</c>, <c>sock/</c>, <c>postgres.log</c>,
    /// and <c>owner.pid</c> so a later run can remove a cluster whose test process died without disposing.</summary>
    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    internal sealed class LocalCluster : IAsyncDisposable
    {
        const string DirectoryPrefix = "tuki-pg-";
        readonly string _binDir;
        readonly bool _asPostgres;
        int _stopped;
        string _options = "";

        LocalCluster(string binDir, string root, bool asPostgres, string superuserPassword)
        {
            _binDir = binDir;
            Root = root;
            _asPostgres = asPostgres;
            SuperuserPassword = superuserPassword;
        }

        public string Root { get; }
        public string SuperuserPassword { get; }
        public int Port { get; private set; }
        string DataDir => Path.Combine(Root, "data");
        string SocketDir => Path.Combine(Root, "sock");
        string LogFile => Path.Combine(Root, "postgres.log");

        public static async Task<LocalCluster> StartAsync(string binDir, IReadOnlyList<string> settings)
        {
            // initdb refuses to run as root: then everything runs as the `postgres` OS user, in /tmp
            // (a TMPDIR under /root would not be reachable for that user).
            var asPostgres = Environment.IsPrivilegedProcess;
            if (asPostgres && !OsUserExists("postgres"))
            {
                throw new InvalidOperationException(
                    "Running as root, and initdb refuses root, but there is no `postgres` OS user to run it as " +
                    "(Debian's postgresql package creates one; or: useradd --system --create-home postgres).");
            }
            var tempRoot = asPostgres ? "/tmp" : Path.GetTempPath();
            await RemoveOrphansAsync(tempRoot, binDir, asPostgres);

            var root = Path.Combine(tempRoot, DirectoryPrefix + RandomToken(4));
            Directory.CreateDirectory(root, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            var cluster = new LocalCluster(binDir, root, asPostgres, RandomPassword());
            AppDomain.CurrentDomain.ProcessExit += cluster.OnProcessExit;
            try
            {
                await cluster.InitAsync();
                await cluster.StartServerAsync(settings);
                return cluster;
            }
            catch
            {
                await cluster.DisposeAsync();
                throw;
            }
        }

        async Task InitAsync()
        {
            await File.WriteAllTextAsync(Path.Combine(Root, "owner.pid"), Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var passwordFile = Path.Combine(Root, "superuser.pw");
            await File.WriteAllTextAsync(passwordFile, SuperuserPassword + "\n");
            File.SetUnixFileMode(passwordFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            Directory.CreateDirectory(SocketDir);
            if (_asPostgres)
            {
                await RunCheckedAsync("chown", ["-R", "postgres:postgres", Root], asPostgres: false, Root, TimeSpan.FromSeconds(30));
            }

            await RunCheckedAsync(Path.Combine(_binDir, "initdb"),
                ["-D", DataDir, "-U", "postgres", $"--pwfile={passwordFile}", "--auth=scram-sha-256",
                 "-E", "UTF8", "--locale=C", "--no-sync"],
                _asPostgres, Root, TimeSpan.FromMinutes(3));
            File.Delete(passwordFile);
        }

        async Task StartServerAsync(IReadOnlyList<string> settings)
        {
            // The free port is probed, then handed to PostgreSQL: another process may take it in
            // between, so a bind failure is retried with a new port.
            for (var attempt = 1; ; attempt++)
            {
                Port = FreeTcpPort();
                var options = new StringBuilder($"-p {Port} -k {SocketDir} -c listen_addresses=127.0.0.1");
                foreach (var setting in settings)
                {
                    options.Append(" -c ").Append(setting);
                }
                var result = await RunAsync(Path.Combine(_binDir, "pg_ctl"),
                    ["-D", DataDir, "-l", LogFile, "-w", "-t", "120", "-o", options.ToString(), "start"],
                    _asPostgres, Root, TimeSpan.FromMinutes(3));
                if (result.ExitCode == 0)
                {
                    _options = options.ToString();
                    return;
                }
                var log = ReadLogTail();
                if (attempt < 3 && log.Contains("could not bind", StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                throw new InvalidOperationException(
                    $"pg_ctl start failed (exit {result.ExitCode}) on port {Port}:\n{result.Output}\n--- {LogFile} ---\n{log}");
            }
        }

        // ---- fault tests: a cluster of their own, stopped and started under the pooler ----

        /// <summary><c>pg_ctl stop -m fast</c>: sessions are terminated (their transactions rolled back), the port closes.</summary>
        public Task StopAsync() => PgCtlAsync("-m", "fast", "-w", "stop");

        /// <summary>Starts the stopped server again, on the same port with the same settings.</summary>
        public Task StartAgainAsync() => PgCtlAsync("-l", LogFile, "-w", "-t", "120", "-o", _options, "start");

        /// <summary><c>pg_ctl restart -m fast</c>, as an operator would: same port, every session cut.</summary>
        public Task RestartAsync() => PgCtlAsync("-l", LogFile, "-m", "fast", "-w", "-t", "120", "-o", _options, "restart");

        async Task PgCtlAsync(params string[] arguments)
        {
            var result = await RunAsync(Path.Combine(_binDir, "pg_ctl"), ["-D", DataDir, .. arguments], _asPostgres, Root, TimeSpan.FromMinutes(2));
            if (result.ExitCode != 0)
            {
                throw new InvalidOperationException($"pg_ctl {string.Join(' ', arguments)} failed (exit {result.ExitCode}):\n{result.Output}\n{ReadLogTail()}");
            }
        }

        string ReadLogTail()
        {
            try
            {
                var lines = File.ReadAllLines(LogFile);
                return string.Join('\n', lines.Skip(Math.Max(0, lines.Length - 30)));
            }
            catch (IOException)
            {
                return "(no log)";
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _stopped, 1) != 0)
            {
                return;
            }
            AppDomain.CurrentDomain.ProcessExit -= OnProcessExit;
            await StopAndDeleteAsync(_binDir, Root, _asPostgres);
        }

        void OnProcessExit(object? sender, EventArgs e) => DisposeAsync().AsTask().GetAwaiter().GetResult();

        static async Task StopAndDeleteAsync(string binDir, string root, bool asPostgres)
        {
            var dataDir = Path.Combine(root, "data");
            if (File.Exists(Path.Combine(dataDir, "postmaster.pid")))
            {
                // immediate: the data is thrown away, so no shutdown checkpoint is worth waiting for
                await RunAsync(Path.Combine(binDir, "pg_ctl"), ["-D", dataDir, "-m", "immediate", "-w", "stop"],
                    asPostgres, root, TimeSpan.FromMinutes(1));
            }
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // leave it; RemoveOrphansAsync of a later run retries
            }
        }

        /// <summary>Removes clusters of earlier runs whose test process is gone (killed test host, CI timeout).</summary>
        static async Task RemoveOrphansAsync(string tempRoot, string binDir, bool asPostgres)
        {
            foreach (var dir in Directory.EnumerateDirectories(tempRoot, DirectoryPrefix + "*"))
            {
                try
                {
                    var ownerFile = Path.Combine(dir, "owner.pid");
                    if (!File.Exists(ownerFile)
                        || !int.TryParse(File.ReadAllText(ownerFile).Trim(), out var owner)
                        || Directory.Exists($"/proc/{owner}"))
                    {
                        continue;
                    }
                    await StopAndDeleteAsync(binDir, dir, asPostgres);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or TimeoutException)
                {
                    // not ours to fight over
                }
            }
        }

        static bool OsUserExists(string name) =>
            File.ReadLines("/etc/passwd").Any(line => line.StartsWith(name + ":", StringComparison.Ordinal));

        static int FreeTcpPort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------

    async Task VerifySuperuserAsync()
    {
        await using var command = Superuser.CreateCommand("SELECT rolsuper FROM pg_roles WHERE rolname = current_user");
        if (await command.ExecuteScalarAsync() is not true)
        {
            throw new InvalidOperationException($"The PostgreSQL user of {Description} is not a superuser; the fixture creates databases and roles.");
        }
    }

    async Task DropCreatedAsync()
    {
        List<(string Database, string User)> created;
        lock (_created)
        {
            created = [.. _created];
        }
        foreach (var (database, user) in created)
        {
            try
            {
                await using var connection = await Superuser.OpenConnectionAsync();
                await ExecuteFormattedAsync(connection, "SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', $1)", database);
                await ExecuteFormattedAsync(connection, "SELECT format('DROP ROLE IF EXISTS %I', $1)", user);
            }
            catch (NpgsqlException e)
            {
                Log($"Could not drop {database}/{user}: {e.Message}");
            }
        }
    }

    static async Task ExecuteAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Runs <paramref name="formatQuery"/> (a <c>SELECT format(…)</c> over positional parameters)
    /// and then the statement it returns.</summary>
    static async Task ExecuteFormattedAsync(NpgsqlConnection connection, string formatQuery, params string[] values)
    {
        string statement;
        await using (var format = new NpgsqlCommand(formatQuery, connection))
        {
            foreach (var value in values)
            {
                format.Parameters.Add(new NpgsqlParameter { Value = value });
            }
            statement = (string)(await format.ExecuteScalarAsync())!;
        }
        await ExecuteAsync(connection, statement);
    }

    static async Task RunCheckedAsync(string file, IReadOnlyList<string> arguments, bool asPostgres, string workingDirectory, TimeSpan timeout)
    {
        var result = await RunAsync(file, arguments, asPostgres, workingDirectory, timeout);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} failed (exit {result.ExitCode}):\n{result.Output}");
        }
    }

    /// <summary>Runs a program (as the <c>postgres</c> OS user via runuser, or su, when asked) and returns
    /// its exit code and combined output.</summary>
    static async Task<(int ExitCode, string Output)> RunAsync(
        string file, IReadOnlyList<string> arguments, bool asPostgres, string workingDirectory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        if (!asPostgres)
        {
            start.FileName = file;
        }
        else if (new[] { "/usr/sbin/runuser", "/sbin/runuser" }.FirstOrDefault(File.Exists) is { } runuser)
        {
            start.FileName = runuser;
            foreach (var argument in (string[])["-u", "postgres", "--", file])
            {
                start.ArgumentList.Add(argument);
            }
        }
        else
        {
            // su hands the words after -c's script to the shell as $0, $1, …: no quoting needed.
            start.FileName = "su";
            foreach (var argument in (string[])["-s", "/bin/sh", "postgres", "-c", "exec \"$0\" \"$@\"", file])
            {
                start.ArgumentList.Add(argument);
            }
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["LC_ALL"] = "C";

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(file)} did not finish within {timeout.TotalSeconds:0} s.");
        }
        // A daemon started by pg_ctl has its output redirected to the log file, so the pipes close with
        // pg_ctl; the bound is only a guard against a child that kept them open.
        var output = new StringBuilder();
        foreach (var stream in new[] { stdout, stderr })
        {
            try
            {
                output.Append(await stream.WaitAsync(TimeSpan.FromSeconds(5)));
            }
            catch (TimeoutException)
            {
                output.Append("(output still open)");
            }
        }
        return (process.ExitCode, output.ToString());
    }

    static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(IsExecutable);

    static bool IsExecutable(string path) =>
        File.Exists(path)
        && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(path) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0);

    static string Sanitize(string prefix)
    {
        var builder = new StringBuilder(prefix.Length);
        foreach (var c in prefix.ToLowerInvariant())
        {
            builder.Append(c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' ? c : '_');
        }
        if (builder.Length == 0 || char.IsDigit(builder[0]))
        {
            builder.Insert(0, 't');
        }
        // PostgreSQL truncates identifiers at 63 bytes; leave room for "_db_{run}_{n}".
        return builder.Length > 40 ? builder.ToString(0, 40) : builder.ToString();
    }

    static string RandomToken(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));

    /// <summary>24 letters and digits: safe in URLs, connection strings and shell words.</summary>
    static string RandomPassword() =>
        RandomNumberGenerator.GetString("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", 24);

    void Log(string message) => _diagnostics.OnMessage(new DiagnosticMessage(message));
}
