// One client's named prepared statements: its own names → the shared statements. Looked up by the raw name bytes
// of each Bind/Describe/Close, without allocating a string on the forwarding path.
using System.Diagnostics.CodeAnalysis;

namespace Tuki.Pool.Pooler.Statements;

public sealed class ClientStatements
{
    // Created at the first named statement: most clients (simple queries, unnamed statements) never need it, and
    // an idle client should not hold an empty dictionary.
    private Dictionary<byte[], PreparedStatement>? _byName;
    private Dictionary<byte[], PreparedStatement>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public int Count => _byName?.Count ?? 0;

    public bool TryGet(ReadOnlySpan<byte> name, [NotNullWhen(true)] out PreparedStatement? statement)
    {
        if (_byName is null)
        {
            statement = null;
            return false;
        }
        return _lookup.TryGetValue(name, out statement);
    }

    /// <summary>Records (or replaces) a client name; returns the stored name so a failed Parse can take it back.</summary>
    public byte[] Set(ReadOnlySpan<byte> name, PreparedStatement statement)
    {
        if (_byName is null)
        {
            _byName = new(NameComparer.Instance);
            _lookup = _byName.GetAlternateLookup<ReadOnlySpan<byte>>();
        }
        if (_lookup.TryGetValue(name, out _, out _))
        {
            _lookup[name] = statement;
            return _lookup.TryGetValue(name, out var stored, out _) ? stored : name.ToArray();
        }
        var key = name.ToArray();
        _byName[key] = statement;
        return key;
    }

    public bool Remove(ReadOnlySpan<byte> name) => _byName is not null && _lookup.Remove(name);

    /// <summary>Forgets <paramref name="name"/> only if it still means <paramref name="statement"/> (a later Parse
    /// may have reused the name).</summary>
    public void RemoveIf(byte[] name, PreparedStatement statement)
    {
        if (_byName is not null && _byName.TryGetValue(name, out var current) && ReferenceEquals(current, statement))
            _byName.Remove(name);
    }

    public void Clear() => _byName?.Clear();

    private sealed class NameComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static readonly NameComparer Instance = new();
        public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);
        public int GetHashCode(byte[] obj) => GetHashCode(obj.AsSpan());
        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);
        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = new HashCode();
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }
        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
