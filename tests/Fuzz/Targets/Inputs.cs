// Helpers shared by the targets: byte streams cut into pipe-like segments, and the usual "expected" exceptions.
using System.Buffers;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Fuzz.Targets;

internal static class Inputs
{
    /// <summary>The documented answers of the protocol code to bad bytes.</summary>
    public static bool IsProtocolError(Exception e) => e is ProtocolViolationException or PgErrorException;

    /// <summary>The first byte of an input picks how the rest is cut into segments (1-16 bytes each), so one input
    /// is both a byte stream and a way the network may have delivered it.</summary>
    public static (int Chunk, byte[] Stream) SplitControl(byte[] input) =>
        input.Length == 0 ? (1, []) : (1 + input[0] % 16, input[1..]);

    /// <summary>A multi-segment sequence over <paramref name="bytes"/> with segments of <paramref name="chunk"/> bytes.</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] bytes, int chunk)
    {
        if (bytes.Length <= chunk)
            return new ReadOnlySequence<byte>(bytes);
        Segment? first = null, last = null;
        for (var at = 0; at < bytes.Length; at += chunk)
        {
            var memory = bytes.AsMemory(at, Math.Min(chunk, bytes.Length - at));
            last = last is null ? first = new Segment(memory, 0) : last.Append(memory);
        }
        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    public static byte[][] Tokens(params string[] tokens) =>
        [.. tokens.Select(t => System.Text.Encoding.UTF8.GetBytes(t))];
}
