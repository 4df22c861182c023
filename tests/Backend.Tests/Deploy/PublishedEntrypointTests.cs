// What the image would run, run here (Docker is not available on the CI machines): the build stage of
// Dockerfile.pooler is replayed in a temporary directory (its COPY lines and RUN commands, minus the
// BuildKit cache mounts), then the runtime stage's ENTRYPOINT is started from the publish output with a
// config file at the place of /etc/tuki-pool/pooler.yaml and the password in the environment only.
// It must serve a real query through to PostgreSQL and stop cleanly on SIGTERM, as `docker stop` does.
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using Npgsql;
using Tuki.Pool.Pooler.IntegrationTests.Fixtures;

namespace Tuki.Pool.Backend.Tests.Deploy;

[Collection("postgres")]
public sealed class PublishedEntrypointTests(PostgresFixture pg) : IDisposable
{
    const string ImageConfigPath = "/etc/tuki-pool/pooler.yaml";
    readonly string _work = Directory.CreateTempSubdirectory("tuki-image-").FullName;
    readonly Dockerfile _dockerfile = new(RepositoryFiles.PathOf("Dockerfile.pooler"));

    [Fact]
    public void Dockerfile_RuntimeStage_NonRootWithHealthcheckAndDocumentedConfigPath()
    {
        var final = _dockerfile.Final;
        var user = Assert.Single(final, i => i.Keyword == "USER").Arguments;
        Assert.DoesNotContain(user, new[] { "root", "0", "0:0" });
        Assert.Contains("/healthz", Assert.Single(final, i => i.Keyword == "HEALTHCHECK").Arguments);
        Assert.Equal(["dotnet", "Tuki.Pool.Pooler.dll", "--config", ImageConfigPath], Entrypoint());
        Assert.True(_dockerfile.Stages.Count >= 2, "multi-stage: the SDK must not ship in the image");
        Assert.DoesNotContain("sdk", Assert.Single(File.ReadLines(RepositoryFiles.PathOf("Dockerfile.pooler")), l => l.StartsWith("FROM") && l.Contains(" AS runtime")));
    }

    [Fact]
    public async Task Entrypoint_PublishedLikeTheImage_ServesQueriesAndStopsOnSigterm()
    {
        var appDir = await ReplayBuildStageAsync();
        var db = await pg.CreateDatabaseAsync("image");
        var port = FreePort();
        var configPath = Path.Combine(_work, "etc", "pooler.yaml");
        Directory.CreateDirectory(Path.GetDirectoryName(configPath)!);
        await File.WriteAllTextAsync(configPath, $$"""
            listen: { address: 127.0.0.1, port: {{port}} }
            metrics: { address: 127.0.0.1, port: 0 }
            pool: { size: 2 }
            databases:
              {{db.Database}}: { host: {{pg.Host}}, port: {{pg.Port}} }
            users:
              {{db.User}}: { password: "${APP_DB_PASSWORD}" }
            """);

        var entrypoint = Entrypoint();
        var start = new ProcessStartInfo(entrypoint[0])
        {
            WorkingDirectory = appDir, // WORKDIR /app
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in entrypoint.Skip(1))
            start.ArgumentList.Add(argument == ImageConfigPath ? configPath : argument);
        start.Environment["APP_DB_PASSWORD"] = db.Password; // the secret arrives only through the environment
        using var process = Process.Start(start)!;
        var output = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) output.Enqueue(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await WaitForPortAsync(port, process, TimeSpan.FromSeconds(30));
            var builder = new NpgsqlConnectionStringBuilder(pg.ConnectionString(db.Database, db.User, db.Password)) { Host = "127.0.0.1", Port = port };
            await using (var connection = new NpgsqlConnection(builder.ConnectionString))
            {
                await connection.OpenAsync();
                await using var command = new NpgsqlCommand("SELECT current_database()", connection);
                Assert.Equal(db.Database, await command.ExecuteScalarAsync());
            }

            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
                await kill.WaitForExitAsync();
            using var stopped = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(stopped.Token);
            Assert.Equal(0, process.ExitCode);
            Assert.DoesNotContain(output, line => line.Contains(db.Password, StringComparison.Ordinal));
        }
        finally
        {
            if (!process.HasExited)
                process.Kill(entireProcessTree: true);
        }
    }

    string[] Entrypoint() =>
        JsonSerializer.Deserialize<string[]>(Assert.Single(_dockerfile.Final, i => i.Keyword == "ENTRYPOINT").Arguments)!;

    /// <summary>Runs the build stage's COPY and RUN lines in a temporary /src and returns the directory
    /// that stands for /app.</summary>
    async Task<string> ReplayBuildStageAsync()
    {
        var src = Path.Combine(_work, "src");
        var app = Path.Combine(_work, "app");
        Directory.CreateDirectory(src);
        var arch = RuntimeInformation.OSArchitecture == Architecture.Arm64 ? "arm64" : "amd64"; // TARGETARCH's spelling
        foreach (var instruction in _dockerfile.Stage("build"))
        {
            switch (instruction.Keyword)
            {
                case "COPY":
                    var parts = instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                    Assert.Equal(2, parts.Length);
                    CopyLikeDocker(RepositoryFiles.PathOf(parts[0]), Path.Combine(src, parts[1]));
                    break;
                case "RUN":
                    var command = string.Join(' ', instruction.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                            .SkipWhile(w => w.StartsWith("--mount=", StringComparison.Ordinal)))
                        .Replace("$TARGETARCH", arch, StringComparison.Ordinal)
                        .Replace(" -o /app", $" -o {app}", StringComparison.Ordinal);
                    await RunAsync("bash", ["-euc", command], src, TimeSpan.FromMinutes(8));
                    break;
            }
        }
        Assert.True(File.Exists(Path.Combine(app, "Tuki.Pool.Pooler.dll")), "the publish step did not produce /app/Tuki.Pool.Pooler.dll");
        return app;
    }

    /// <summary>COPY semantics for a file or a directory (its contents), leaving out what .dockerignore leaves out.</summary>
    static void CopyLikeDocker(string from, string to)
    {
        if (File.Exists(from))
        {
            var target = to.EndsWith('/') ? Path.Combine(to, Path.GetFileName(from)) : to;
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(from, target, overwrite: true);
            return;
        }
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(from, file);
            if (relative.Split(Path.DirectorySeparatorChar).Any(part => part is "bin" or "obj"))
                continue;
            var target = Path.Combine(to, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
    }

    static async Task RunAsync(string file, string[] arguments, string directory, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(file, arguments)
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
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
            throw;
        }
        Assert.True(process.ExitCode == 0, $"{string.Join(' ', arguments)} failed ({process.ExitCode}):\n{await stdout}\n{await stderr}");
    }

    static async Task WaitForPortAsync(int port, Process process, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            Assert.False(process.HasExited, $"the pooler exited with {(process.HasExited ? process.ExitCode : 0)} before listening");
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
