// Realistic byte streams for the frame benchmarks: what PostgreSQL answers to one pgbench -S transaction.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Tuki.Pool.Bench.Micro;

internal static class ServerReplies
{
    /// <summary>The reply to pgbench -S -M extended (Parse/Bind/Describe/Execute/Sync): ParseComplete,
    /// BindComplete, RowDescription (one int4 column), DataRow, CommandComplete "SELECT 1", ReadyForQuery 'I'.</summary>
    public static byte[] ExtendedSelect()
    {
        var stream = new MemoryStream();
        Frame(stream, '1', []);
        Frame(stream, '2', []);
        var row = new MemoryStream();
        row.Write([0, 1]);                                        // one field
        row.Write(Encoding.ASCII.GetBytes("abalance\0"));
        row.Write([0, 0, 0x40, 0x05, 0, 3, 0, 0, 0, 0x17, 0, 4, 0xff, 0xff, 0xff, 0xff, 0, 0]); // table, attnum, int4, len 4, typmod -1, text
        Frame(stream, 'T', row.ToArray());
        Frame(stream, 'D', [0, 1, 0, 0, 0, 4, (byte)'1', (byte)'2', (byte)'3', (byte)'4']);
        Frame(stream, 'C', Encoding.ASCII.GetBytes("SELECT 1\0"));
        Frame(stream, 'Z', [(byte)'I']);
        return stream.ToArray();
    }

    private static void Frame(Stream stream, char code, byte[] body)
    {
        Span<byte> header = stackalloc byte[5];
        header[0] = (byte)code;
        BinaryPrimitives.WriteInt32BigEndian(header.Slice(1), body.Length + 4);
        stream.Write(header);
        stream.Write(body);
    }

    /// <summary>The same bytes as a sequence of <paramref name="segmentSize"/>-byte segments, so frame headers
    /// straddle segment ends (the slow path of the reader).</summary>
    public static ReadOnlySequence<byte> Segmented(byte[] bytes, int segmentSize)
    {
        Segment? first = null, last = null;
        for (var offset = 0; offset < bytes.Length; offset += segmentSize)
        {
            var chunk = bytes.AsMemory(offset, Math.Min(segmentSize, bytes.Length - offset));
            if (first is null) first = last = new Segment(chunk, 0);
            else last = last!.Append(chunk);
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
}
