// The startup packets of recent logins, by their exact bytes. A client that connects per transaction sends the same
// packet every time (one service, one user, one set of settings), so a hit reuses the packet parsed before, with its
// strings and the settings table derived from it, instead of building strings, a list, a dictionary and the table's
// content key for every login. Direct-mapped and lock-free: a slot holds one immutable entry, replaced whole on a
// miss; a hit compares every byte, so a hash collision costs a parse, never a wrong packet.
namespace Tuki.Pool.Pooler.Protocol;

public sealed class StartupPacketCache
{
    private const int Slots = 64;          // distinct startup packets in use at once: services × users × settings
    public const int MaxCachedLength = 1024; // longer packets (rare: huge options) are parsed each time

    private readonly Entry?[] _entries = new Entry?[Slots];

    private sealed class Entry(int code, byte[] body, int hash, StartupPacket packet)
    {
        public readonly int Code = code;
        public readonly byte[] Body = body;
        public readonly int Hash = hash;
        public readonly StartupPacket Packet = packet;
    }

    /// <summary>The StartupMessage with protocol code <paramref name="code"/> and this body, parsed once.</summary>
    public StartupPacket GetOrParse(int code, ReadOnlySpan<byte> body)
    {
        if (body.Length > MaxCachedLength)
            return StartupPacketReader.Parse(code, body);
        var hash = Hash(code, body);
        ref var slot = ref _entries[hash & (Slots - 1)];
        var entry = Volatile.Read(ref slot);
        if (entry is not null && entry.Hash == hash && entry.Code == code && body.SequenceEqual(entry.Body))
            return entry.Packet;
        var packet = StartupPacketReader.Parse(code, body); // throws for a bad packet: nothing is cached then
        if (packet.Kind == StartupKind.Startup)
            Volatile.Write(ref slot, new Entry(code, body.ToArray(), hash, packet));
        return packet;
    }

    private static int Hash(int code, ReadOnlySpan<byte> body)
    {
        var hash = new HashCode();
        hash.Add(code);
        hash.AddBytes(body);
        return hash.ToHashCode();
    }
}
