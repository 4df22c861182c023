// Session parameters by name (case-insensitive, as PostgreSQL's setting names are) with a version that moves on every
// change. Versions are unique across all tables, so "same version" means "same table, unchanged": the parameter sync
// run at every binding (ClientSession.Parameters) compares two numbers instead of walking every setting.
using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Tuki.Pool.Pooler.Protocol;

public sealed class ParameterTable : IEnumerable<KeyValuePair<string, string>>
{
    private static long s_lastVersion;
    private readonly Dictionary<string, string> _values;

    public ParameterTable()
    {
        _values = new(StringComparer.OrdinalIgnoreCase);
        Version = NextVersion();
    }

    public ParameterTable(ParameterTable copyOf)
    {
        _values = new(copyOf._values, StringComparer.OrdinalIgnoreCase);
        Version = NextVersion();
    }

    /// <summary>Changes with every change of content; never the same for two tables.</summary>
    public long Version { get; private set; }

    public int Count => _values.Count;

    public Dictionary<string, string>.KeyCollection Keys => _values.Keys;

    public string this[string name]
    {
        get => _values[name];
        set
        {
            if (_values.TryGetValue(name, out var current) && current == value)
                return;
            _values[name] = value;
            Version = NextVersion();
        }
    }

    public bool TryGetValue(string name, [MaybeNullWhen(false)] out string value) => _values.TryGetValue(name, out value);

    public bool ContainsKey(string name) => _values.ContainsKey(name);

    public bool Remove(string name)
    {
        if (!_values.Remove(name))
            return false;
        Version = NextVersion();
        return true;
    }

    public void Clear()
    {
        if (_values.Count == 0)
            return;
        _values.Clear();
        Version = NextVersion();
    }

    public Dictionary<string, string>.Enumerator GetEnumerator() => _values.GetEnumerator();

    IEnumerator<KeyValuePair<string, string>> IEnumerable<KeyValuePair<string, string>>.GetEnumerator() => GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private string? _contentKey;
    private long _contentKeyVersion;

    /// <summary>The content as one string (names sorted; NUL cannot occur in a protocol string), to compare the
    /// settings of two clients without walking them. Computed once per version.</summary>
    public string ContentKey()
    {
        if (_contentKey is not null && _contentKeyVersion == Version)
            return _contentKey;
        var key = BuildContentKey();
        _contentKey = key;
        _contentKeyVersion = Version;
        return key;
    }

    private string BuildContentKey()
    {
        if (_values.Count == 0)
            return "";
        var names = new string[_values.Count];
        _values.Keys.CopyTo(names, 0);
        Array.Sort(names, StringComparer.OrdinalIgnoreCase);
        var key = new System.Text.StringBuilder();
        foreach (var name in names)
            key.Append(name.ToLowerInvariant()).Append('\0').Append(_values[name]).Append('\0');
        return key.ToString();
    }

    private static long NextVersion() => Interlocked.Increment(ref s_lastVersion);
}
