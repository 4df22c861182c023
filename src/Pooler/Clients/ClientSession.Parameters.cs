// Per-client session settings in transaction mode. What the client asked for at startup (application_name,
// client_encoding, DateStyle, options=-c ...) and what it later changed that the server reports (ParameterStatus)
// belongs to the client, not to whichever server runs its next transaction. Before forwarding on a freshly bound
// server, the differences are applied with RESET and set_config queries whose replies are swallowed; they are
// pipelined with the client's own messages, so they cost server CPU but no extra round trip. Settings PostgreSQL
// does not report (statement_timeout, role, ...) join the same table when the client changes them (SessionState).
using System.Text;
using Tuki.Pool.Pooler.Protocol;
using Tuki.Pool.Pooler.Servers;

namespace Tuki.Pool.Pooler.Clients;

public sealed partial class ClientSession
{
    // Startup keys that are not settings.
    private static readonly HashSet<string> NotSettings = new(StringComparer.OrdinalIgnoreCase) { "user", "database", "replication", "options" };

    // Reported parameters a client may change with SET; the others (server_version, is_superuser, ...) are facts
    // about the server, never replayed.
    private static readonly HashSet<string> SettableReported = new(StringComparer.OrdinalIgnoreCase)
    {
        "application_name", "client_encoding", "DateStyle", "IntervalStyle", "TimeZone",
        "standard_conforming_strings", "search_path", "default_transaction_read_only", "session_authorization",
    };

    // What this client's session settings should be; null for the many clients that ask for nothing special. After
    // login it is the same instance as _startupDesired, which clients with identical startup settings share through
    // their pool (ServerPool.ShareSettings): thousands of idle clients hold one table, not one each. Never mutated
    // while shared: DesiredForWrite copies it first.
    private ParameterTable? _desired;

    /// <summary>The settings the startup packet asks for, derived once per packet: a packet the cache hands to many
    /// logins (StartupPacketCache) carries its table, shared from the start like the pool's (copy-on-write).</summary>
    private void CollectStartupParameters(StartupPacket startup)
    {
        var derived = Volatile.Read(ref startup.Settings);
        if (derived is null)
        {
            var settings = StartupSettings(startup); // a bad options value throws at every login that sends it
            settings?.ContentKey(); // computed before the table is shared, as for the pool's tables
            derived = new(settings);
            Volatile.Write(ref startup.Settings, derived);
        }
        _desired = derived.Value;
        _startupDesired = _desired; // shared already: a change before the pool's rules apply must copy it too
    }

    private static ParameterTable? StartupSettings(StartupPacket startup)
    {
        ParameterTable? settings = null;
        for (var i = 0; i < startup.Parameters.Count; i++)
        {
            var (name, value) = startup.Parameters[i];
            if (NotSettings.Contains(name) || name.StartsWith("_pq_.", StringComparison.Ordinal))
                continue;
            (settings ??= new())[name] = value;
        }
        if (startup["options"] is { Length: > 0 } options)
            foreach (var (name, value) in ParseOptions(options))
                (settings ??= new())[name] = value;
        return settings;
    }

    private string? DesiredValue(string name) => _desired is not null && _desired.TryGetValue(name, out var value) ? value : null;

    /// <summary>Sets one desired setting, copying the shared startup table first.</summary>
    private void SetDesired(string name, string value)
    {
        if (DesiredValue(name) == value)
            return;
        DesiredForWrite()[name] = value;
    }

    private ParameterTable DesiredForWrite()
    {
        if (_desired is null)
            _desired = new();
        else if (ReferenceEquals(_desired, _startupDesired))
            _desired = new(_desired);
        return _desired;
    }

    /// <summary>Called by the pump for ParameterStatus from the bound server (not for the pooler's own SETs).</summary>
    private void OnClientParameterChanged(string name, string value)
    {
        if (SettableReported.Contains(name))
            SetDesired(name, value);
    }

    /// <summary>The queries that make <paramref name="server"/> match this client (none when it already does), each sent
    /// as its own simple Query so a failing SET cannot roll back the RESETs before it (one Query is one implicit
    /// transaction). Caller holds the session lock.</summary>
    private List<string>? BuildParameterSync(ServerConnection server)
    {
        // The common case, checked in O(1): this server was last synced for these very settings and has not changed.
        var key = DesiredKey();
        if (server.SyncedVersion == server.Parameters.Version && server.SyncedSettings == key)
            return null;
        var queries = BuildParameterQueries(server);
        server.SyncedSettings = key;
        server.SyncedVersion = server.Parameters.Version;
        return queries;
    }

    private string DesiredKey() => _desired?.ContentKey() ?? "";

    private List<string>? BuildParameterQueries(ServerConnection server)
    {
        StringBuilder? sets = null, resets = null;
        var nonAscii = false;
        if (_desired is not null)
        {
            foreach (var (name, value) in _desired)
            {
                if (server.Parameters.TryGetValue(name, out var current) && current == value)
                    continue;
                // set_config reads the value as postgresql.conf would, so list settings (search_path = a, b) keep
                // their elements; SET name TO 'a, b' would make it one quoted name.
                (sets ??= new("SELECT ")).Append(sets.Length > 7 ? ", " : "").Append("set_config(").Append(QuoteLiteral(name))
                    .Append(", ").Append(QuoteLiteral(value)).Append(", false)");
                nonAscii |= !System.Text.Ascii.IsValid(value);
                server.Parameters[name] = value;
            }
        }
        // Settings a previous client left on this server that this client did not ask for go back to the default.
        foreach (var (name, baseline) in server.StartupParameters)
        {
            if (!SettableReported.Contains(name) || DesiredValue(name) is not null)
                continue;
            if (server.Parameters.TryGetValue(name, out var current) && current != baseline)
            {
                (resets ??= new()).Append("RESET ").Append(QuoteIdentifier(name)).Append(';');
                server.Parameters[name] = baseline;
            }
        }
        if (server.Parameters.Count > server.StartupParameters.Count)
        {
            List<string>? stale = null;
            foreach (var name in server.Parameters.Keys)
                if (!IsStartupReported(server, name) && DesiredValue(name) is null)
                    (stale ??= []).Add(name);
            foreach (var name in stale ?? [])
            {
                (resets ??= new()).Append("RESET ").Append(QuoteIdentifier(name)).Append(';');
                server.Parameters.Remove(name);
            }
        }
        if (sets is null && resets is null)
            return null;

        var queries = new List<string>(3);
        // PostgreSQL decodes a Query with the client_encoding in force when it arrives (the previous client's);
        // we send UTF-8, so switch first when a value is not plain ASCII. The statement itself is ASCII-only.
        if (nonAscii && !(server.Parameters.TryGetValue("client_encoding", out var encoding) && encoding is "UTF8" or "utf8"))
            queries.Add("SET client_encoding TO 'UTF8'");
        if (resets is not null)
            queries.Add(resets.ToString());
        if (sets is not null)
            queries.Add(sets.ToString());
        return queries;
    }

    private static bool IsStartupReported(ServerConnection server, string name)
    {
        foreach (var (reported, _) in server.StartupParameters)
            if (string.Equals(reported, name, StringComparison.OrdinalIgnoreCase))
                return true;
        return false;
    }

    private static string QuoteIdentifier(string name) => "\"" + name.Replace("\"", "\"\"") + "\"";

    /// <summary>An escape string literal: correct whatever standard_conforming_strings a previous client left set,
    /// so a value can never end the literal early (no injection through application_name and friends).</summary>
    internal static string QuoteLiteral(string value) => "E'" + value.Replace("\\", "\\\\").Replace("'", "''") + "'";

    /// <summary>Parses the startup <c>options</c> value like PostgreSQL: space-separated, backslash escapes,
    /// <c>-c name=value</c> or <c>--name=value</c>.</summary>
    internal static List<KeyValuePair<string, string>> ParseOptions(string options)
    {
        var words = new List<string>();
        var word = new StringBuilder();
        for (var i = 0; i < options.Length; i++)
        {
            var c = options[i];
            if (c == '\\' && i + 1 < options.Length) { word.Append(options[++i]); continue; }
            if (char.IsWhiteSpace(c)) { if (word.Length > 0) { words.Add(word.ToString()); word.Clear(); } continue; }
            word.Append(c);
        }
        if (word.Length > 0) words.Add(word.ToString());

        var result = new List<KeyValuePair<string, string>>();
        for (var i = 0; i < words.Count; i++)
        {
            string? setting = null;
            if (words[i] == "-c" && i + 1 < words.Count) setting = words[++i];
            else if (words[i].StartsWith("-c", StringComparison.Ordinal)) setting = words[i].Substring(2);
            else if (words[i].StartsWith("--", StringComparison.Ordinal)) setting = words[i].Substring(2);
            if (setting is null) throw new PgErrorException(PgErrors.ProtocolViolation($"unsupported startup option \"{words[i]}\": only -c name=value is accepted"));
            var eq = setting.IndexOf('=');
            if (eq <= 0) throw new PgErrorException(PgErrors.ProtocolViolation($"invalid startup option \"{setting}\": expected name=value"));
            result.Add(new(setting.Substring(0, eq).Replace('-', '_'), setting.Substring(eq + 1)));
        }
        return result;
    }
}
