// One mapping of pooler.yaml while it is read: checks its keys against ConfigKeys and reads typed values,
// reporting each problem with its YAML path and carrying on, so one pass finds every error.
using System.Globalization;
using System.Net;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Tuki.Pool.Pooler.Configuration;

internal sealed class YamlSection
{
    private readonly ConfigReadContext _context;
    private readonly IReadOnlySet<string> _accepted;
    private readonly List<KeyValuePair<string, YamlNode>> _entries = [];

    private YamlSection(ConfigReadContext context, YamlNode? node, string path, string pattern)
    {
        _context = context;
        _accepted = ConfigKeys.KeysOf(pattern);
        Path = path;
        Pattern = pattern;
        if (node is YamlMappingNode mapping)
            Collect(mapping);
        else if (!IsAbsent(node))
            context.Error(path, $"expected a mapping, got {Describe(node!)}");
    }

    /// <summary>The whole document; a missing or empty document reads as an empty mapping.</summary>
    public static YamlSection Root(ConfigReadContext context, YamlNode? root) => new(context, root, "", "");

    /// <summary>Dotted path of this mapping, as errors show it (<c>databases.app.pool</c>).</summary>
    public string Path { get; }

    /// <summary>The same path with names replaced by <c>*</c> (<c>databases.*.pool</c>), as in <see cref="ConfigKeys.All"/>.</summary>
    public string Pattern { get; }

    // databases and users: the keys are names the user chose, not keys of ours.
    private bool HoldsNames => _accepted.Contains(ConfigKeys.AnyName);

    public string PathOf(string key) => ConfigPath.Join(Path, Accepted(key));

    /// <summary>True when the key is written with a non-null value.</summary>
    public bool Has(string key) => Find(key) is { } node && !IsAbsent(node);

    /// <summary>The mapping under <paramref name="key"/>; an absent key reads as an empty mapping (all defaults).
    /// Open each section once: unknown keys are reported when it is opened.</summary>
    public YamlSection Section(string key) =>
        new(_context, Find(key), PathOf(key), ConfigPath.Join(Pattern, key));

    /// <summary>The entries of a mapping of names (<c>databases</c>, <c>users</c>), in document order.</summary>
    public IReadOnlyList<(string Name, YamlSection Section)> Named()
    {
        if (!HoldsNames)
            throw new InvalidOperationException($"'{Pattern}' is not a mapping of names in ConfigKeys.All.");
        var itemPattern = ConfigPath.Join(Pattern, ConfigKeys.AnyName);
        return _entries
            .Select(entry => (entry.Key, new YamlSection(_context, entry.Value, ConfigPath.Join(Path, entry.Key), itemPattern)))
            .ToList();
    }

    public string? String(string key) => TryText(key, out _, out var text, out _) ? text : null;

    /// <summary>A string that must be present and non-empty.</summary>
    public string? RequiredString(string key)
    {
        if (!Has(key))
        {
            _context.Error(PathOf(key), "required");
            return null;
        }
        if (!TryText(key, out var path, out var text, out _))
            return null;
        if (text.Length == 0)
        {
            _context.Error(path, "must not be empty");
            return null;
        }
        return text;
    }

    /// <summary>true/false (YAML 1.2 core spellings only, so "yes"/"on" are not silently read as something else).</summary>
    public bool? Bool(string key)
    {
        if (!TryText(key, out var path, out var text, out var shown))
            return null;
        if (text is "true" or "false")
            return text == "true";
        _context.Error(path, $"expected true or false, got {shown}");
        return null;
    }

    public int? Int(string key, int min, int max)
    {
        if (!TryText(key, out var path, out var text, out var shown))
            return null;
        // long first, so "99999999999" gets the range message rather than "not an integer".
        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            _context.Error(path, $"expected an integer {min}-{max}, got {shown}");
            return null;
        }
        if (value < min || value > max)
        {
            _context.Error(path, $"expected {min}-{max}, got {shown}");
            return null;
        }
        return (int)value;
    }

    /// <summary>A duration (<see cref="Durations"/>); <paramref name="allowZero"/> is false for timeouts where 0
    /// would mean "fail at once" rather than "no limit".</summary>
    public TimeSpan? Duration(string key, bool allowZero)
    {
        if (!TryText(key, out var path, out var text, out var shown))
            return null;
        if (!Durations.TryParse(text, out var value))
        {
            _context.Error(path, $"expected {Durations.ExpectedForm}, got {shown}");
            return null;
        }
        if (value == TimeSpan.Zero && !allowZero)
        {
            _context.Error(path, $"expected more than 0 (a duration such as 5s), got {shown}");
            return null;
        }
        if (value > Durations.Max)
        {
            _context.Error(path, $"expected at most {Durations.MaxText}, got {shown}");
            return null;
        }
        return value;
    }

    public T? Choice<T>(string key, IReadOnlyList<(string Name, T Value)> choices) where T : struct, Enum
    {
        if (!TryText(key, out var path, out var text, out var shown))
            return null;
        foreach (var (name, value) in choices)
        {
            if (name == text)
                return value;
        }
        _context.Error(path, $"expected {EnumSpellings.Expected(choices)}, got {shown}");
        return null;
    }

    /// <summary>An IP address to bind (a host name would make the listening interface depend on DNS at start).</summary>
    public string? IpAddress(string key)
    {
        if (!TryText(key, out var path, out var text, out var shown))
            return null;
        if (!IPAddress.TryParse(text, out _))
        {
            _context.Error(path, $"expected an IP address such as 0.0.0.0, 127.0.0.1 or ::, got {shown}");
            return null;
        }
        return text;
    }

    /// <summary>A list of user names (<c>[a, b]</c>); each must be a non-empty name without NUL.</summary>
    /// <summary>A list of client networks: CIDR blocks (10.0.0.0/8, fd00::/8) or single addresses.</summary>
    public IReadOnlyList<IPNetwork>? NetworkList(string key)
    {
        var path = PathOf(key);
        var node = Find(key);
        if (node is null || IsAbsent(node))
            return null;
        if (node is not YamlSequenceNode sequence)
        {
            _context.Error(path, $"expected a list such as [10.0.0.0/8, 127.0.0.1], got {Describe(node)}");
            return null;
        }
        var networks = new List<IPNetwork>(sequence.Children.Count);
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var text = sequence.Children[i] is YamlScalarNode item ? EnvReferences.Expand(item.Value ?? "", $"{path}[{i}]", _context) : null;
            if (text is not null && IPNetwork.TryParse(text, out var network))
                networks.Add(network);
            else if (text is not null && IPAddress.TryParse(text, out var address))
                networks.Add(new IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128));
            else
                _context.Error($"{path}[{i}]", $"expected a network such as 10.0.0.0/8 or an address, got {Describe(sequence.Children[i])}");
        }
        return networks;
    }

    public IReadOnlyList<string>? NameList(string key)
    {
        var path = PathOf(key);
        var node = Find(key);
        if (node is null || IsAbsent(node))
            return null;
        if (node is not YamlSequenceNode sequence)
        {
            _context.Error(path, $"expected a list such as [a, b], got {Describe(node)}");
            return null;
        }
        var names = new List<string>(sequence.Children.Count);
        var ok = true;
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var itemPath = $"{path}[{i}]";
            if (sequence.Children[i] is not YamlScalarNode item || IsAbsent(item))
            {
                _context.Error(itemPath, $"expected a name, got {Describe(sequence.Children[i])}");
                ok = false;
                continue;
            }
            var name = EnvReferences.Expand(item.Value ?? "", itemPath, _context);
            if (name is null)
            {
                ok = false;
                continue;
            }
            if (ConfigValidator.NameProblem(name) is { } problem)
            {
                _context.Error(itemPath, problem);
                ok = false;
                continue;
            }
            names.Add(name);
        }
        return ok ? names : null;
    }

    // The text of a scalar after ${NAME} expansion; false when absent, not a scalar, or a reference failed.
    // 'shown' is what an error may quote: the text as written, so a value that came from the environment
    // (perhaps a secret) is shown as its ${NAME} reference.
    private bool TryText(string key, out string path, out string text, out string shown)
    {
        path = PathOf(key);
        text = shown = "";
        var node = Find(key);
        if (node is null || IsAbsent(node))
            return false;
        if (node is not YamlScalarNode scalar)
        {
            _context.Error(path, $"expected a value, got {Describe(node)}");
            return false;
        }
        var raw = scalar.Value ?? "";
        var expanded = EnvReferences.Expand(raw, path, _context);
        if (expanded is null)
            return false;
        text = expanded;
        shown = raw.Length == 0 ? "\"\"" : raw;
        return true;
    }

    private void Collect(YamlMappingNode mapping)
    {
        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                _context.Error(Path, $"expected a name as key, got {Describe(keyNode)}");
                continue;
            }
            if (!HoldsNames && !_accepted.Contains(key))
            {
                _context.Error(ConfigPath.Join(Path, key), "unknown key");
                continue;
            }
            _entries.Add(new(key, value));
        }
    }

    private YamlNode? Find(string key)
    {
        Accepted(key);
        foreach (var entry in _entries)
        {
            if (entry.Key == key)
                return entry.Value;
        }
        return null;
    }

    // Reading a key that ConfigKeys.All doesn't list is a bug in the loader, not in the file: fail loudly.
    private string Accepted(string key) =>
        !HoldsNames && _accepted.Contains(key)
            ? key
            : throw new InvalidOperationException($"'{ConfigPath.Join(Pattern, key)}' is read but not listed in ConfigKeys.All.");

    // "key:", "key: ~" and "key: null" mean "not set" (defaults apply); a quoted "" is an empty string.
    private static bool IsAbsent(YamlNode? node) =>
        node is null
        || node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" };

    // Never quote a scalar here: a misplaced value may be a secret.
    private static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        _ => "a single value",
    };
}
