// Byte-level mutations in the style of AFL/libFuzzer: bit flips, interesting values (big-endian Int32 lengths
// matter most for PostgreSQL frames), inserts, deletes, duplicated ranges, splices of two corpus entries and
// dictionary tokens. A few of them stacked per input.
using System.Buffers.Binary;

namespace Tuki.Pool.Fuzz.Engine;

public sealed class Mutator(Random random)
{
    private static readonly int[] InterestingInts =
        [0, 1, 3, 4, 5, 7, 8, 9, 16, 127, 128, 255, 256, 1024, 4096, 9_999, 10_000, 10_001, 65_535, 65_536,
         196_608, 80_877_103, 80_877_104, 80_877_102, int.MaxValue, int.MinValue, -1, -4];

    private static readonly byte[] InterestingBytes = [0, 1, 0x7F, 0x80, 0xFF, (byte)';', (byte)'\'', (byte)'"', (byte)'-', (byte)' '];

    public byte[] Mutate(byte[] parent, IReadOnlyList<byte[]> corpus, IReadOnlyList<byte[]> dictionary, int maxLength)
    {
        var data = new List<byte>(parent);
        var stack = 1 << random.Next(4); // 1, 2, 4 or 8 mutations
        for (var i = 0; i < stack; i++)
            MutateOnce(data, corpus, dictionary, maxLength);
        if (data.Count > maxLength)
            data.RemoveRange(maxLength, data.Count - maxLength);
        return [.. data];
    }

    private void MutateOnce(List<byte> data, IReadOnlyList<byte[]> corpus, IReadOnlyList<byte[]> dictionary, int maxLength)
    {
        switch (random.Next(data.Count == 0 ? 3 : 11))
        {
            case 0: // insert random bytes
                data.InsertRange(Position(data, inclusive: true), RandomBytes(1 + random.Next(random.Next(2) == 0 ? 4 : 64)));
                break;
            case 1: // insert a dictionary token
                if (dictionary.Count > 0)
                    data.InsertRange(Position(data, inclusive: true), dictionary[random.Next(dictionary.Count)]);
                break;
            case 2: // splice: our head, another entry's tail
                var other = corpus[random.Next(corpus.Count)];
                var cut = Position(data, inclusive: true);
                data.RemoveRange(cut, data.Count - cut);
                data.AddRange(other.Skip(other.Length == 0 ? 0 : random.Next(other.Length)));
                break;
            case 3: // flip a bit
                var at = Position(data);
                data[at] ^= (byte)(1 << random.Next(8));
                break;
            case 4: // random byte
                data[Position(data)] = (byte)random.Next(256);
                break;
            case 5: // interesting byte
                data[Position(data)] = InterestingBytes[random.Next(InterestingBytes.Length)];
                break;
            case 6: // interesting big-endian Int32 (or a small delta from the current value)
                if (data.Count >= 4)
                {
                    var pos = random.Next(data.Count - 3);
                    Span<byte> word = stackalloc byte[4];
                    for (var k = 0; k < 4; k++) word[k] = data[pos + k];
                    var value = random.Next(2) == 0
                        ? InterestingInts[random.Next(InterestingInts.Length)]
                        : BinaryPrimitives.ReadInt32BigEndian(word) + random.Next(-8, 9);
                    BinaryPrimitives.WriteInt32BigEndian(word, value);
                    for (var k = 0; k < 4; k++) data[pos + k] = word[k];
                }
                break;
            case 7: // delete a range
                var start = Position(data);
                data.RemoveRange(start, 1 + random.Next(Math.Min(data.Count - start, 32)));
                break;
            case 8: // duplicate a range (repeated fields, pipelined messages)
                var from = Position(data);
                var length = 1 + random.Next(Math.Min(data.Count - from, 64));
                if (data.Count + length <= maxLength)
                    data.InsertRange(Position(data, inclusive: true), data.GetRange(from, length));
                break;
            case 9: // overwrite with a dictionary token
                if (dictionary.Count > 0)
                {
                    var token = dictionary[random.Next(dictionary.Count)];
                    var where = Position(data);
                    for (var k = 0; k < token.Length && where + k < data.Count; k++)
                        data[where + k] = token[k];
                }
                break;
            default: // truncate
                var keep = Position(data);
                data.RemoveRange(keep, data.Count - keep);
                break;
        }
    }

    private int Position(List<byte> data, bool inclusive = false) => random.Next(data.Count + (inclusive ? 1 : 0));

    private byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        random.NextBytes(bytes);
        return bytes;
    }
}
