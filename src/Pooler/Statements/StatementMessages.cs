// The extended-protocol messages that name a prepared statement, read and rewritten for the server:
// Parse (name, text, types), Bind (portal, statement, ...), Describe and Close ('S'|'P', name).
using System.Buffers;
using System.Buffers.Binary;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Pooler.Statements;

public static class StatementMessages
{
    /// <summary>Where the statement name of a Parse, Bind, Describe or Close body starts and how long it is (without
    /// its NUL); false when the body is too short to tell (or malformed). <paramref name="isStatement"/> is false for
    /// Describe/Close of a portal, which name no statement.</summary>
    public static bool TryFindName(byte code, ReadOnlySpan<byte> body, out int offset, out int length, out bool isStatement)
    {
        offset = length = 0;
        isStatement = true;
        switch (code)
        {
            case FrontendCode.Parse:
                break;
            case FrontendCode.Bind:
                var portalEnd = body.IndexOf((byte)0);
                if (portalEnd < 0) return false;
                offset = portalEnd + 1;
                break;
            case FrontendCode.Describe:
            case FrontendCode.Close:
                if (body.IsEmpty) return false;
                isStatement = body[0] == (byte)'S';
                offset = 1;
                break;
            default:
                return false;
        }
        var nameEnd = body[offset..].IndexOf((byte)0);
        if (nameEnd < 0) return false;
        length = nameEnd;
        return true;
    }

    /// <summary>Writes a frame's header and the head of its body with the name at [offset, offset+length) replaced
    /// by <paramref name="newName"/>; the caller copies the rest of the body (after the old name's NUL).</summary>
    public static void WriteRenamedHead(IBufferWriter<byte> output, byte code, int frameLength, ReadOnlySpan<byte> bodyHead,
        int offset, int length, ReadOnlySpan<byte> newName)
    {
        var newLength = frameLength - FrameHeader.Size + 4 - length + newName.Length;
        var headLength = FrameHeader.Size + offset + newName.Length + 1;
        var span = output.GetSpan(headLength);
        span[0] = code;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], newLength);
        bodyHead[..offset].CopyTo(span[FrameHeader.Size..]);
        newName.CopyTo(span[(FrameHeader.Size + offset)..]);
        span[headLength - 1] = 0;
        output.Advance(headLength);
    }

    /// <summary>ParseComplete, as the server would have sent it.</summary>
    public static ReadOnlySpan<byte> ParseComplete => [BackendCode.ParseComplete, 0, 0, 0, 4];
}
