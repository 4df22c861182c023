// Runs a PostgreSQL command-line tool (psql, pgbench) against the pooler and captures its output.
using System.Diagnostics;

namespace Tuki.Pool.Pooler.IntegrationTests.Drivers;

internal static class ToolRunner
{
    public static Task<(int ExitCode, string Output)> RunAsync(string tool, string password, TimeSpan timeout, string stdin = "", params string[] args) =>
        RunAsync(tool, new Dictionary<string, string> { ["PGPASSWORD"] = password }, timeout, stdin, args);

    public static async Task<(int ExitCode, string Output)> RunAsync(string tool, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, string stdin, params string[] args)
    {
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["PGSSLMODE"] = "prefer"; // exercise the SSLRequest → 'N' path, as psql does by default
        start.Environment["PGCONNECT_TIMEOUT"] = "15";
        foreach (var (name, value) in environment) start.Environment[name] = value;
        using var process = Process.Start(start)!;
        await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(tool)} did not finish within {timeout}");
        }
        return (process.ExitCode, await stdout + await stderr);
    }
}
