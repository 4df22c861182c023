// Frame splitting: header-only reads, split segments, limits checked before the body arrives.
using System.Buffers;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Pooler.Tests.Protocol;

public sealed class FrameReaderTests
{
    [Fact]
    public void TryReadFrame_TwoFramesInOneBuffer_ReadsBoth()
    {
        var buffer = new ReadOnlySequence<byte>([(byte)'Z', 0, 0, 0, 5, (byte)'I', (byte)'S', 0, 0, 0, 4]);
        Assert.True(FrameReader.TryReadFrame(ref buffer, 100, out var first, out var frame));
        Assert.Equal((byte)'Z', first.Code);
        Assert.Equal(6, frame.Length);
        Assert.True(FrameReader.TryReadFrame(ref buffer, 100, out var second, out _));
        Assert.Equal((byte)'S', second.Code);
        Assert.True(buffer.IsEmpty);
    }

    [Fact]
    public void TryReadFrame_HeaderSplitAcrossSegments_Reads()
    {
        var buffer = Segmented([(byte)'Q', 0, 0], [0, 6, (byte)'x', 0]);
        Assert.True(FrameReader.TryReadFrame(ref buffer, 100, out var header, out var frame));
        Assert.Equal(6, header.Length);
        Assert.Equal(7, frame.Length);
    }

    [Fact]
    public void TryReadFrame_IncompleteBody_NeedsMoreAndKeepsBuffer()
    {
        var buffer = new ReadOnlySequence<byte>([(byte)'Q', 0, 0, 0, 10, 1, 2]);
        Assert.False(FrameReader.TryReadFrame(ref buffer, 100, out _, out _));
        Assert.Equal(7, buffer.Length);
    }

    [Fact]
    public void TryReadHeader_LengthOverLimit_ThrowsBeforeBody()
    {
        var buffer = new ReadOnlySequence<byte>([(byte)'Q', 0x7F, 0xFF, 0xFF, 0xFF]);
        Assert.Throws<ProtocolViolationException>(() => FrameReader.TryReadHeader(buffer, 1024, out _));
    }

    [Fact]
    public void TryReadHeader_LengthUnderFour_Throws()
    {
        var buffer = new ReadOnlySequence<byte>([(byte)'Q', 0, 0, 0, 3]);
        Assert.Throws<ProtocolViolationException>(() => FrameReader.TryReadHeader(buffer, 1024, out _));
    }

    [Fact]
    public void TryReadWhole_WalksWholeFramesAndStopsAtACutOffOne()
    {
        // Z(5) + S(4) + the first 6 bytes of a Q of length 10.
        byte[] span = [(byte)'Z', 0, 0, 0, 5, (byte)'I', (byte)'S', 0, 0, 0, 4, (byte)'Q', 0, 0, 0, 10, 1];
        Assert.True(FrameReader.TryReadWhole(span, 0, 100, out var code, out var length));
        Assert.Equal(((byte)'Z', 6), (code, length));
        Assert.True(FrameReader.TryReadWhole(span, 6, 100, out code, out length));
        Assert.Equal(((byte)'S', 5), (code, length));
        Assert.False(FrameReader.TryReadWhole(span, 11, 100, out _, out _)); // body cut off
        Assert.False(FrameReader.TryReadWhole(span, 13, 100, out _, out _)); // header cut off
        Assert.False(FrameReader.TryReadWhole(span, span.Length, 100, out _, out _));
    }

    [Theory]
    [InlineData(3)]          // under the length field itself: TryReadHeader reports it
    [InlineData(0x7FFFFFFF)] // over the limit: TryReadHeader reports it
    public void TryReadWhole_InvalidLength_LeftToTryReadHeader(int declared)
    {
        byte[] span = [(byte)'Q', (byte)(declared >> 24), (byte)(declared >> 16), (byte)(declared >> 8), (byte)declared, 0, 0, 0];
        Assert.False(FrameReader.TryReadWhole(span, 0, 1024, out _, out _));
    }

    [Fact]
    public void MessageWriter_ErrorResponse_ParsesBack()
    {
        var writer = new ArrayBufferWriter<byte>();
        MessageWriter.WriteErrorResponse(writer, new PgError("FATAL", "28P01", "bad password", "try again"));
        var buffer = new ReadOnlySequence<byte>(writer.WrittenMemory);
        Assert.True(FrameReader.TryReadFrame(ref buffer, 1000, out var header, out var frame));
        Assert.Equal(BackendCode.ErrorResponse, header.Code);
        byte[]? scratch = null;
        var parsed = MessageParser.ErrorResponse(FrameReader.Body(frame, ref scratch));
        Assert.Equal(new PgError("FATAL", "28P01", "bad password", "try again"), parsed);
    }

    internal static ReadOnlySequence<byte> Segmented(params byte[][] parts)
    {
        var first = new Segment(parts[0], 0);
        var last = first;
        foreach (var part in parts.Skip(1))
            last = last.Append(part);
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] data, long runningIndex)
        {
            Memory = data;
            RunningIndex = runningIndex;
        }

        public Segment Append(byte[] data)
        {
            var next = new Segment(data, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
