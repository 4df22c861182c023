// Live reload (SIGHUP, admin RELOAD, optionally a change of the file): the new file is validated whole; an invalid
// one is never applied (the old config keeps serving; the log, the reload metric and the admin error name the key).
// A valid one is swapped in with one reference and the pools are reconciled by key: sizes change without dropping a
// client (surplus servers close as they come back), added databases appear, removed ones drain, a changed address
// applies to new server connections while old ones are retired after their transaction.
using Microsoft.Extensions.Logging;
using Tuki.Pool.Pooler.Configuration;

namespace Tuki.Pool.Pooler.Hosting;

public sealed partial class PoolerRuntime
{
    // Editors save in several steps (truncate, write, rename): wait for the file to settle before reading it.
    private static readonly TimeSpan WatchDebounce = TimeSpan.FromMilliseconds(300);

    private readonly string? _configPath;
    private readonly Lock _reloadSync = new();
    private FileSystemWatcher? _watcher;
    private Timer? _debounce;

    /// <summary>Reloads the file the pooler was started with. Returns the errors when it was refused (the old
    /// configuration stays in force), an empty list when the new one was applied.</summary>
    public IReadOnlyList<ConfigError> Reload(string trigger)
    {
        if (_configPath is null)
            return [new ConfigError(ConfigError.DocumentPath, "the pooler was started without a configuration file, so there is nothing to reload")];
        lock (_reloadSync)
        {
            var loaded = YamlConfigLoader.Load(_configPath);
            if (!loaded.Success)
            {
                Metrics.ReloadFailed();
                _logger.LogError("Reload ({Trigger}) refused, the old configuration stays in force: {Errors}", trigger, string.Join("; ", loaded.Errors));
                return loaded.Errors;
            }
            Apply(loaded.Config);
            Metrics.ReloadSucceeded(loaded.Hash);
            _logger.LogInformation("Reload ({Trigger}) applied pooler.yaml sha256 {Hash}", trigger, loaded.Hash);
            return [];
        }
    }

    /// <summary>Swaps in <paramref name="next"/> and reconciles the pools with it. Caller holds the reload lock.</summary>
    private void Apply(PoolerConfig next)
    {
        var previous = _config;
        // 1. Keys read only at start: say so rather than pretend.
        if (previous.Listen != next.Listen)
            _logger.LogWarning("listen changed in pooler.yaml; it applies at the next restart");
        if (previous.Metrics != next.Metrics)
            _logger.LogWarning("metrics changed in pooler.yaml; it applies at the next restart");
        if (previous.Logging.Format != next.Logging.Format)
            _logger.LogWarning("logging.format changed in pooler.yaml; it applies at the next restart");

        // 2. Databases: remember each one's latest entry (removed ones keep their last, for their draining pools).
        foreach (var (name, database) in next.Databases)
            _databases[name] = database;

        // 3. Swap: new logins and new server connections see the new config from here on.
        _config = next;

        // 4. Reconcile what already exists, by key.
        foreach (var (name, group) in Pools.Groups)
        {
            if (next.Databases.TryGetValue(name, out var database))
                group.MaxConnections = database.MaxConnections;
        }
        foreach (var pool in Pools.Pools)
        {
            var name = pool.Key.Database;
            if (!next.Databases.TryGetValue(name, out var database))
            {
                pool.Retire();
                continue;
            }
            pool.Reinstate();
            if (previous.Databases.TryGetValue(name, out var before)
                && (before.Host, before.Port, before.DbName) != (database.Host, database.Port, database.DbName))
                pool.BumpGeneration();
            pool.UpdateSettings(SettingsFor(pool.Key));
        }
        foreach (var name in previous.Databases.Keys.Where(n => !next.Databases.ContainsKey(n)))
            _logger.LogInformation("Database {Database} removed: its clients keep their sessions, its servers close as they come back", name);
        foreach (var name in next.Databases.Keys.Where(n => !previous.Databases.ContainsKey(n)))
            _logger.LogInformation("Database {Database} added", name);
    }

    private void StartWatchingFile()
    {
        if (!Config.Reload.WatchFile || _configPath is null)
            return;
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(_configPath)!, Path.GetFileName(_configPath))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _debounce = new Timer(_ => OnFileSettled(), null, Timeout.Infinite, Timeout.Infinite);
        FileSystemEventHandler changed = (_, _) => _debounce.Change(WatchDebounce, Timeout.InfiniteTimeSpan);
        _watcher.Changed += changed;
        _watcher.Created += changed;
        _watcher.Renamed += (_, _) => _debounce.Change(WatchDebounce, Timeout.InfiniteTimeSpan);
        _watcher.EnableRaisingEvents = true;
    }

    private void OnFileSettled()
    {
        if (_draining)
            return;
        try
        {
            Reload("file changed");
        }
        catch (Exception ex)
        {
            _logger.LogError(ex, "Reload after a file change failed");
        }
    }
}
