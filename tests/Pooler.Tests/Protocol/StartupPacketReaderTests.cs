// The first packet: SSLRequest, CancelRequest, StartupMessage, and the lengths that must be refused at once.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Pooler.Tests.Protocol;

public sealed class StartupPacketReaderTests
{
    [Fact]
    public void TryRead_SslRequest_Recognised()
    {
        var buffer = Packet(StartupCode.SslRequest, []);
        Assert.True(StartupPacketReader.TryRead(ref buffer, out var packet));
        Assert.Equal(StartupKind.SslRequest, packet!.Kind);
    }

    [Fact]
    public void TryRead_CancelRequest_CarriesKey()
    {
        var body = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(body, 1234);
        BinaryPrimitives.WriteInt32BigEndian(body.AsSpan(4), -5);
        var buffer = Packet(StartupCode.CancelRequest, body);
        Assert.True(StartupPacketReader.TryRead(ref buffer, out var packet));
        Assert.Equal((StartupKind.CancelRequest, 1234, -5), (packet!.Kind, packet.CancelProcessId, packet.CancelSecretKey));
    }

    [Fact]
    public void TryRead_StartupMessage_ParametersInOrder()
    {
        var buffer = Packet(StartupCode.ProtocolVersion3, Encoding.UTF8.GetBytes("user\0bob\0database\0app\0application_name\0psql\0\0"));
        Assert.True(StartupPacketReader.TryRead(ref buffer, out var packet));
        Assert.Equal("bob", packet!["user"]);
        Assert.Equal("app", packet["database"]);
        Assert.Equal("psql", packet["application_name"]);
        Assert.Null(packet["options"]);
    }

    [Fact]
    public void TryRead_Partial_NeedsMore()
    {
        var full = Packet(StartupCode.ProtocolVersion3, Encoding.UTF8.GetBytes("user\0bob\0\0"));
        var partial = full.Slice(0, full.Length - 3);
        Assert.False(StartupPacketReader.TryRead(ref partial, out _));
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(10_001)]
    [InlineData(4)]
    public void TryRead_AbsurdLength_ThrowsFromHeaderAlone(int length)
    {
        var header = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(header, length);
        BinaryPrimitives.WriteInt32BigEndian(header.AsSpan(4), StartupCode.ProtocolVersion3);
        var buffer = new ReadOnlySequence<byte>(header);
        Assert.Throws<ProtocolViolationException>(() => StartupPacketReader.TryRead(ref buffer, out _));
    }

    [Fact]
    public void TryRead_UnterminatedParameters_Throws()
    {
        var buffer = Packet(StartupCode.ProtocolVersion3, Encoding.UTF8.GetBytes("user\0bob"));
        Assert.Throws<ProtocolViolationException>(() => StartupPacketReader.TryRead(ref buffer, out _));
    }

    [Fact]
    public void TryRead_Protocol2_RefusedAsNotSupported()
    {
        var buffer = Packet(2 << 16, Encoding.UTF8.GetBytes("\0"));
        var error = Assert.Throws<PgErrorException>(() => StartupPacketReader.TryRead(ref buffer, out _));
        Assert.Equal("0A000", error.Error.Code);
    }

    private static ReadOnlySequence<byte> Packet(int code, byte[] body)
    {
        var packet = new byte[8 + body.Length];
        BinaryPrimitives.WriteInt32BigEndian(packet, packet.Length);
        BinaryPrimitives.WriteInt32BigEndian(packet.AsSpan(4), code);
        body.CopyTo(packet, 8);
        return new ReadOnlySequence<byte>(packet);
    }
}
