// Serverless-scale load: N simulated backend instances x M client connections each, running the backend's
// checkout and public-list code at a fixed rate for a fixed time against one target (Tuki.Pool, PgBouncer
// or PostgreSQL directly), then checking the inventory. Driven by bench/serverless/run.sh; prints a report
// and, with --json, writes the figures for RESULTS.md.
using System.Globalization;
using System.Text.Json;
using Npgsql;
using Tuki.Pool.Backend.Data;
using Tuki.Pool.Bench.ServerlessLoad;

var options = LoadOptions.Parse(args);
var target = new NpgsqlConnectionStringBuilder(options.Target);
var admin = new NpgsqlConnectionStringBuilder(options.Admin) { Database = target.Database, Pooling = false };
using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(options.DurationSeconds + 300)); // hard bound on the whole run
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };

void Say(string message) => Console.Error.WriteLine($"[{options.Label}] {message}");

// Schema and seed as the backend does it at start, through the target.
await using (var setup = TicketsDataSource.Create(options.Target))
    await Schema.ApplyAsync(setup, stop.Token);

var sampler = new ServerSampler(admin.ConnectionString, target.Database!, target.Port);
using var samplerStop = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
var sampling = sampler.RunAsync(TimeSpan.FromMilliseconds(200), samplerStop.Token);

await using var instances = new SimulatedInstances(options);
Say($"opening {options.Instances} x {options.PerInstance} = {options.Instances * options.PerInstance} client connections");
var warmUp = await instances.WarmUpAsync(parallelism: 64, stop.Token);
Say($"opened {warmUp.Opened}, failed {warmUp.Failed} in {warmUp.Elapsed.TotalSeconds:0.0} s");
foreach (var (kind, count) in warmUp.FailuresByKind)
    Say($"  open failed x{count}: {kind}");

Say($"load: {options.Rate} req/s for {options.DurationSeconds} s, {options.CheckoutShare:P0} checkouts");
var runner = new LoadRunner(options, instances);
await runner.RunAsync(stop.Token);
await samplerStop.CancelAsync();
await sampling;

var recorder = runner.Recorder;
var inventory = await InventoryCheck.RunAsync(admin.ConnectionString, recorder.ConfirmedOrderIds);
var all = recorder.Percentiles("all");
var checkout = recorder.Percentiles("checkout");
var list = recorder.Percentiles("list");
var attempted = (long)options.Rate * options.DurationSeconds;

Console.WriteLine($"""
    == {options.Label} ==
    client connections: {warmUp.Opened} opened / {options.Instances * options.PerInstance} wanted; max open to port {target.Port} (sampled): {sampler.MaxClientConnections}
    server connections (pg_stat_activity, max of {sampler.Samples} samples): {sampler.MaxServerConnections}
    requests: {attempted} scheduled, {recorder.Completed} completed, {recorder.ErrorCount} errors, {recorder.ShedCount} shed; {recorder.Completed / recorder.WallSeconds:0.0} completed/s
    latency ms (all)      p50 {all.P50:0.0}  p95 {all.P95:0.0}  p99 {all.P99:0.0}  max {all.Max:0.0}
    latency ms (list)     p50 {list.P50:0.0}  p95 {list.P95:0.0}  p99 {list.P99:0.0}
    latency ms (checkout) p50 {checkout.P50:0.0}  p95 {checkout.P95:0.0}  p99 {checkout.P99:0.0}
    checkouts: {recorder.ConfirmedOrderIds.Count} confirmed ({recorder.TicketsConfirmed} tickets), {recorder.SoldOutAnswers} sold out, {recorder.UnknownAnswers} unexpected answers
    inventory: initial {inventory.Initial} = sold {inventory.Sold} + remaining {inventory.Remaining}; tickets in orders {inventory.OrderedTickets}; orders {inventory.Orders}; confirmed orders missing {inventory.LostOrders}; negative tiers {inventory.NegativeTiers} => {(inventory.Consistent ? "CONSISTENT" : "INCONSISTENT")}
    """);
foreach (var (kind, count) in recorder.Errors.OrderByDescending(e => e.Value))
    Console.WriteLine($"  error x{count}: {kind}");

if (options.JsonOut is not null)
{
    var figures = new Dictionary<string, object?>
    {
        ["label"] = options.Label,
        ["clients_wanted"] = options.Instances * options.PerInstance,
        ["clients_opened"] = warmUp.Opened,
        ["clients_failed"] = warmUp.Failed,
        ["open_failures"] = warmUp.FailuresByKind,
        ["max_established"] = sampler.MaxClientConnections,
        ["max_server_connections"] = sampler.MaxServerConnections,
        ["scheduled"] = attempted,
        ["completed"] = recorder.Completed,
        ["errors"] = recorder.ErrorCount,
        ["error_kinds"] = recorder.Errors,
        ["shed"] = recorder.ShedCount,
        ["throughput"] = Math.Round(recorder.Completed / recorder.WallSeconds, 1),
        ["p50_ms"] = Math.Round(all.P50, 1),
        ["p95_ms"] = Math.Round(all.P95, 1),
        ["p99_ms"] = Math.Round(all.P99, 1),
        ["checkout_p99_ms"] = Math.Round(checkout.P99, 1),
        ["orders_confirmed"] = recorder.ConfirmedOrderIds.Count,
        ["orders_in_db"] = inventory.Orders,
        ["lost_orders"] = inventory.LostOrders,
        ["initial"] = inventory.Initial,
        ["sold"] = inventory.Sold,
        ["remaining"] = inventory.Remaining,
        ["ordered_tickets"] = inventory.OrderedTickets,
        ["consistent"] = inventory.Consistent,
    };
    await File.WriteAllTextAsync(options.JsonOut, JsonSerializer.Serialize(figures, new JsonSerializerOptions { WriteIndented = true }));
}
if (options.RowOut is not null)
{
    // One row of the RESULTS.md table (header in bench/serverless/run.sh).
    var failures = warmUp.FailuresByKind.Count == 0 ? "" : " (" + string.Join("; ", warmUp.FailuresByKind.Select(f => $"{f.Value} × {f.Key}")) + ")";
    var row = string.Create(CultureInfo.InvariantCulture,
        $"| {options.Label} | {warmUp.Opened:N0} / {options.Instances * options.PerInstance:N0}{failures}; max held {sampler.MaxClientConnections:N0} | {sampler.MaxServerConnections} | " +
        $"{recorder.Completed:N0} / {attempted:N0} | {recorder.ErrorCount:N0} | {recorder.Completed / recorder.WallSeconds:0.0} | " +
        $"{all.P50:0.0} / {all.P95:0.0} / {all.P99:0.0} | {checkout.P99:0.0} | " +
        $"{inventory.Sold:N0} + {inventory.Remaining:N0} = {inventory.Initial:N0}; {inventory.Orders:N0} orders ({inventory.OrderedTickets:N0} tickets), {inventory.LostOrders} lost |");
    await File.AppendAllTextAsync(options.RowOut, row + "\n");
}
return inventory.Consistent ? 0 : 3;
