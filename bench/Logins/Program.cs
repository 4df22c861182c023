// Two load shapes for bench/run.sh, both against one connection string (password from PGPASSWORD):
//   hold  --conn CS --count N [--parallel P] [--until-file F] [--max-seconds S]
//         opens N authenticated connections (P at a time), prints "READY ...", holds them idle until F exists or
//         S seconds pass, then closes them.
//   storm --conn CS --count N
//         starts N logins at the same instant and prints how long until every one was authenticated.
// Output lines are key=value so the shell can parse them; exit status 0 only when every login succeeded.
using System.Diagnostics;
using Npgsql;
using Tuki.Pool.Bench.Logins;

var options = Options.Parse(args);
var connectionString = new NpgsqlConnectionStringBuilder(options.ConnectionString)
{
    Password = Environment.GetEnvironmentVariable("PGPASSWORD") ?? "",
    // One physical connection per NpgsqlConnection, no TLS probe, no type-loading query: a login is exactly
    // startup + SCRAM + the server's welcome, the same work pgbench -C makes a pooler do.
    Pooling = false,
    SslMode = SslMode.Disable,
    Timeout = 60,
}.ConnectionString;
var builder = new NpgsqlDataSourceBuilder(connectionString);
builder.ConfigureTypeLoading(typeLoading => typeLoading.EnableTypeLoading(false));
await using var dataSource = builder.Build();

var stopwatch = Stopwatch.StartNew();
var connections = await LoginBatch.OpenAsync(dataSource, options.Count, options.Mode == "storm" ? options.Count : options.Parallel);
var elapsed = stopwatch.Elapsed;
var opened = connections.Count(c => c is not null);
var failed = options.Count - opened;
Console.WriteLine($"{(options.Mode == "storm" ? "STORM" : "READY")} count={options.Count} opened={opened} failed={failed} " +
                  $"ms={elapsed.TotalMilliseconds:F0} rate={opened / elapsed.TotalSeconds:F0}");
if (LoginBatch.FirstError is { } error)
    Console.WriteLine($"first_error={error.Replace('\n', ' ')}");

if (options.Mode == "hold")
{
    var deadline = Stopwatch.StartNew();
    while (deadline.Elapsed.TotalSeconds < options.MaxSeconds && (options.UntilFile is null || !File.Exists(options.UntilFile)))
        await Task.Delay(100);
}

foreach (var connection in connections)
    connection?.Dispose();
return failed == 0 ? 0 : 1;
