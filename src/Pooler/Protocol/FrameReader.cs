// Splits a byte stream into typed messages reading only the 5-byte header (the hot path of forwarding).
using System.Buffers;
using System.Buffers.Binary;

namespace Tuki.Pool.Pooler.Protocol;

/// <summary>
/// Frame splitting over <see cref="ReadOnlySequence{T}"/>. <c>Try*</c> methods return false when more bytes are
/// needed and leave the buffer as it was. Declared lengths are checked against the limit from the header alone,
/// before waiting for (or buffering) the body.
/// </summary>
public static class FrameReader
{
    /// <summary>Reads the header at the start of <paramref name="buffer"/> without consuming it.</summary>
    public static bool TryReadHeader(in ReadOnlySequence<byte> buffer, int maxLength, out FrameHeader header)
    {
        if (buffer.Length < FrameHeader.Size)
        {
            header = default;
            return false;
        }

        ReadOnlySpan<byte> first = buffer.FirstSpan;
        if (first.Length >= FrameHeader.Size)
        {
            header = new FrameHeader(first[0], BinaryPrimitives.ReadInt32BigEndian(first.Slice(1)));
        }
        else
        {
            Span<byte> copy = stackalloc byte[FrameHeader.Size];
            buffer.Slice(0, FrameHeader.Size).CopyTo(copy);
            header = new FrameHeader(copy[0], BinaryPrimitives.ReadInt32BigEndian(copy.Slice(1)));
        }

        if (header.Length < 4)
            throw new ProtocolViolationException($"invalid message length {header.Length} for message type '{(char)header.Code}'");
        if (header.Length > maxLength)
            throw new ProtocolViolationException($"message of type '{(char)header.Code}' is {header.Length} bytes, over the limit of {maxLength}");
        return true;
    }

    /// <summary>The frame at <paramref name="offset"/> of one contiguous span, when it is there whole and its declared
    /// length is valid: the fast path for a batch of small messages in one buffer. False (the caller falls back to
    /// <see cref="TryReadHeader"/>, which also reports a bad length) when it is cut off or its length is out of range.</summary>
    public static bool TryReadWhole(ReadOnlySpan<byte> span, int offset, int maxLength, out byte code, out int frameLength)
    {
        code = 0;
        frameLength = 0;
        if (span.Length - offset < FrameHeader.Size)
            return false;
        var length = BinaryPrimitives.ReadInt32BigEndian(span.Slice(offset + 1));
        if (length < 4 || length > maxLength || length >= span.Length - offset)
            return false;
        code = span[offset];
        frameLength = length + 1;
        return true;
    }

    /// <summary>Reads one whole frame (header included) and advances <paramref name="buffer"/> past it.</summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxLength, out FrameHeader header, out ReadOnlySequence<byte> frame)
    {
        if (!TryReadHeader(buffer, maxLength, out header) || buffer.Length < header.FrameLength)
        {
            frame = default;
            return false;
        }

        frame = buffer.Slice(0, header.FrameLength);
        buffer = buffer.Slice(frame.End);
        return true;
    }

    /// <summary>Returns the body of a whole frame as one span, copying into <paramref name="scratch"/> only when
    /// the frame spans segments. Used for the few small messages the pooler must parse.</summary>
    public static ReadOnlySpan<byte> Body(in ReadOnlySequence<byte> frame, ref byte[]? scratch)
    {
        var body = frame.Slice(FrameHeader.Size);
        if (body.IsSingleSegment)
            return body.FirstSpan;
        var length = checked((int)body.Length);
        if (scratch is null || scratch.Length < length)
            scratch = new byte[Math.Max(length, 256)];
        body.CopyTo(scratch);
        return scratch.AsSpan(0, length);
    }
}
