// One client's named prepared statements: its own names → the shared statements. Looked up by the raw name bytes
// of each Bind/Describe/Close, without allocating a string on the forwarding path.
using System.Diagnostics.CodeAnalysis;

namespace Tuki.Pool.Pooler.Statements;

public sealed class ClientStatements
{
    private readonly Dictionary<byte[], PreparedStatement> _byName = new(NameComparer.Instance);
    private readonly Dictionary<byte[], PreparedStatement>.AlternateLookup<ReadOnlySpan<byte>> _lookup;

    public ClientStatements() => _lookup = _byName.GetAlternateLookup<ReadOnlySpan<byte>>();

    public int Count => _byName.Count;

    public bool TryGet(ReadOnlySpan<byte> name, [NotNullWhen(true)] out PreparedStatement? statement) =>
        _lookup.TryGetValue(name, out statement);

    /// <summary>Records (or replaces) a client name; returns the stored name so a failed Parse can take it back.</summary>
    public byte[] Set(ReadOnlySpan<byte> name, PreparedStatement statement)
    {
        if (_lookup.TryGetValue(name, out _, out _))
        {
            _lookup[name] = statement;
            return _lookup.TryGetValue(name, out var stored, out _) ? stored : name.ToArray();
        }
        var key = name.ToArray();
        _byName[key] = statement;
        return key;
    }

    public bool Remove(ReadOnlySpan<byte> name) => _lookup.Remove(name);

    /// <summary>Forgets <paramref name="name"/> only if it still means <paramref name="statement"/> (a later Parse
    /// may have reused the name).</summary>
    public void RemoveIf(byte[] name, PreparedStatement statement)
    {
        if (_byName.TryGetValue(name, out var current) && ReferenceEquals(current, statement))
            _byName.Remove(name);
    }

    public void Clear() => _byName.Clear();

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
