// The keys the operations work added: reload.watch_file, logging.format, logging.connections, shutdown_timeout,
// listen.reuse_port.
using Tuki.Pool.Pooler.Configuration;

namespace Tuki.Pool.Pooler.Tests.Configuration;

public sealed class OperationsKeysTests
{
    private const string Base = "databases: { app: { host: h } }\n";

    [Fact]
    public void Parse_Omitted_Defaults()
    {
        var config = YamlConfigLoader.Parse(Base).Config!;
        Assert.Equal((false, LogFormat.Text, true, TimeSpan.FromSeconds(30), false),
            (config.Reload.WatchFile, config.Logging.Format, config.Logging.Connections, config.ShutdownTimeout, config.Listen.ReusePort));
    }

    [Fact]
    public void Parse_AllSet_Read()
    {
        var config = YamlConfigLoader.Parse(Base + "reload: { watch_file: true }\nlogging: { format: json, connections: false }\nshutdown_timeout: 5s\nlisten: { reuse_port: true }").Config!;
        Assert.Equal((true, LogFormat.Json, false, TimeSpan.FromSeconds(5), true),
            (config.Reload.WatchFile, config.Logging.Format, config.Logging.Connections, config.ShutdownTimeout, config.Listen.ReusePort));
    }

    [Theory]
    [InlineData("reload: { watch_file: yes }", "reload.watch_file: expected true or false, got yes")]
    [InlineData("logging: { format: xml }", "logging.format: expected text or json, got xml")]
    [InlineData("logging: { connections: off }", "logging.connections: expected true or false, got off")]
    [InlineData("shutdown_timeout: 30", "shutdown_timeout: expected a duration such as 500ms, 15s, 5m or 1h (or 0), got 30")]
    public void Parse_BadValue_NamesTheKey(string line, string expected)
    {
        var result = YamlConfigLoader.Parse(Base + line);
        Assert.Equal(expected, Assert.Single(result.Errors).ToString());
    }
}
