// The 5-byte header every typed message starts with: a type byte and an Int32 length that counts itself.
namespace Tuki.Pool.Pooler.Protocol;

/// <summary>Header of a typed message. <see cref="Length"/> is as on the wire: it includes its own 4 bytes
/// but not the type byte, so the whole frame is <c>Length + 1</c> bytes.</summary>
public readonly record struct FrameHeader(byte Code, int Length)
{
    public const int Size = 5;
    public int FrameLength => Length + 1;
    public int BodyLength => Length - 4;
}
