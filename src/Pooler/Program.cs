// Entry point: load and validate pooler.yaml (a bad file stops here, naming each bad key), then run the host.
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Configuration;
using Tuki.Pool.Pooler.Hosting;

var commandLine = CommandLine.Parse(args);
var loaded = YamlConfigLoader.Load(commandLine.ConfigPath);
if (!loaded.Success)
{
    Console.Error.WriteLine($"pooler: invalid configuration in {commandLine.ConfigPath}:");
    foreach (var error in loaded.Errors)
        Console.Error.WriteLine($"  {error}");
    return 2;
}

var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
builder.Logging.ClearProviders();
builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "HH:mm:ss.fff "; });
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
builder.Services.AddSingleton(sp => new PoolerRuntime(loaded.Config!, sp.GetRequiredService<ILoggerFactory>()));
builder.Services.AddHostedService<PoolerHostedService>();
await builder.Build().RunAsync();
return 0;
