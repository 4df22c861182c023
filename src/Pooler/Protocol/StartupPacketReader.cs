// Parses the first packet of a connection (PgBouncer's get_header idea: length checked before the body).
using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Tuki.Pool.Pooler.Protocol;

/// <summary>
/// Int32 length (includes itself), Int32 code, then for StartupMessage a list of C-string pairs ending with an
/// empty name. PostgreSQL refuses startup packets over 10,000 bytes; so do we, from the length alone.
/// </summary>
public static class StartupPacketReader
{
    public const int MaxStartupPacketLength = 10_000;

    public static bool TryRead(ref ReadOnlySequence<byte> buffer, out StartupPacket? packet) => TryRead(ref buffer, null, out packet);

    /// <summary>As <see cref="TryRead(ref ReadOnlySequence{byte}, out StartupPacket?)"/>; a StartupMessage seen before
    /// comes from <paramref name="cache"/> (the same instance: never change it).</summary>
    public static bool TryRead(ref ReadOnlySequence<byte> buffer, StartupPacketCache? cache, out StartupPacket? packet)
    {
        packet = null;
        if (buffer.Length < 8)
            return false;

        Span<byte> head = stackalloc byte[8];
        buffer.Slice(0, 8).CopyTo(head);
        var length = BinaryPrimitives.ReadInt32BigEndian(head);
        var code = BinaryPrimitives.ReadInt32BigEndian(head.Slice(4));
        if (length < 8 || length > MaxStartupPacketLength)
            throw new ProtocolViolationException($"invalid startup packet length {length}");
        if (buffer.Length < length)
            return false;

        var body = buffer.Slice(8, length - 8);
        packet = cache is not null && code >> 16 == 3 && body.IsSingleSegment
            ? cache.GetOrParse(code, body.FirstSpan)
            : Parse(code, body.ToArray());
        buffer = buffer.Slice(length);
        return true;
    }

    private static readonly StartupPacket SslRequest = new(StartupKind.SslRequest, StartupCode.SslRequest, []);
    private static readonly StartupPacket GssEncRequest = new(StartupKind.GssEncRequest, StartupCode.GssEncRequest, []);

    internal static StartupPacket Parse(int code, ReadOnlySpan<byte> body)
    {
        switch (code)
        {
            case StartupCode.SslRequest when body.Length == 0:
                return SslRequest; // libpq's default sslmode=prefer sends one before every StartupMessage
            case StartupCode.GssEncRequest when body.Length == 0:
                return GssEncRequest;
            case StartupCode.CancelRequest when body.Length == 8:
                return new StartupPacket(StartupKind.CancelRequest, code, [],
                    BinaryPrimitives.ReadInt32BigEndian(body), BinaryPrimitives.ReadInt32BigEndian(body.Slice(4)));
        }

        if (code >> 16 != 3)
            throw new PgErrorException(PgErrors.UnsupportedProtocol(code >> 16, code & 0xFFFF));

        var parameters = new List<KeyValuePair<string, string>>();
        while (true)
        {
            var name = ReadCString(ref body);
            if (name.Length == 0)
                break;
            var value = ReadCString(ref body);
            parameters.Add(new(name, value));
        }
        if (body.Length != 0)
            throw new ProtocolViolationException("invalid startup packet layout: expected terminator as last byte");
        return new StartupPacket(StartupKind.Startup, code, parameters);
    }

    private static string ReadCString(ref ReadOnlySpan<byte> span)
    {
        var end = span.IndexOf((byte)0);
        if (end < 0)
            throw new ProtocolViolationException("invalid startup packet layout: unterminated string");
        var text = Encoding.UTF8.GetString(span.Slice(0, end));
        span = span.Slice(end + 1);
        return text;
    }
}
