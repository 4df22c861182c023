// Entry point: load and validate pooler.yaml (a bad file stops here, naming each bad key), then run the host.
// SIGTERM/SIGINT drain gracefully (exit 0), SIGHUP reloads (see PoolerHostedService).
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Hosting;
using Tuki.Pool.Pooler.Transport;

IoThreads.PreferInlineCompletions(); // before any socket exists: the runtime reads it once

var commandLine = CommandLine.Parse(args);
var loaded = YamlConfigLoader.Load(commandLine.ConfigPath);
if (!loaded.Success)
{
    Console.Error.WriteLine($"pooler: invalid configuration in {commandLine.ConfigPath}:");
    foreach (var error in loaded.Errors)
        Console.Error.WriteLine($"  {error}");
    return 2;
}
var config = loaded.Config;

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
builder.Logging.ClearProviders();
// TUKI_LOG_FORMAT overrides logging.format, so a container can switch to JSON without editing the file.
var json = Environment.GetEnvironmentVariable("TUKI_LOG_FORMAT") is { } format
    ? format.Equals("json", StringComparison.OrdinalIgnoreCase)
    : config.Logging.Format == LogFormat.Json;
if (json)
    builder.Logging.AddJsonConsole(o => { o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ"; o.UseUtcTimestamp = true; });
else
    builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
// The host waits for StopAsync (the drain) a little longer than the drain itself may take.
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = config.ShutdownTimeout + TimeSpan.FromSeconds(10));
builder.Services.AddSingleton(sp => new PoolerRuntime(config, sp.GetRequiredService<ILoggerFactory>(), commandLine.ConfigPath, loaded.Hash));
builder.Services.AddHostedService<PoolerHostedService>();
await builder.Build().RunAsync();
return 0;
