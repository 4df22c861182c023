// The SQLSTATE class (its first two characters) of an ErrorResponse frame, read without allocating: the error
// counter's label on the forwarding path. Class strings are interned once per class.
using System.Buffers;
using System.Collections.Concurrent;

namespace Tuki.Pool.Pooler.Metrics;

public static class SqlStateClass
{
    private static readonly ConcurrentDictionary<int, string> Interned = new();

    /// <summary>Class of a whole ErrorResponse frame (header included); "??" when the C field is missing.</summary>
    public static string Of(in ReadOnlySequence<byte> frame)
    {
        var reader = new SequenceReader<byte>(frame);
        reader.Advance(5); // type byte and length
        while (reader.TryRead(out var field) && field != 0)
        {
            if (field == (byte)'C' && reader.TryRead(out var a) && reader.TryRead(out var b))
                return Intern(a, b);
            if (!reader.TryAdvanceTo(0))
                break;
        }
        return "??";
    }

    /// <summary>Class of a SQLSTATE string.</summary>
    public static string Of(string sqlState) => sqlState.Length >= 2 ? Intern((byte)sqlState[0], (byte)sqlState[1]) : "??";

    private static string Intern(byte a, byte b)
    {
        // Only [0-9A-Z] are valid SQLSTATE characters; anything else is one bucket, so a broken server can't flood labels.
        if (!IsCodeChar(a) || !IsCodeChar(b))
            return "??";
        return Interned.GetOrAdd(a << 8 | b, key => new string([(char)(key >> 8), (char)(key & 0xFF)]));
    }

    private static bool IsCodeChar(byte c) => c is >= (byte)'0' and <= (byte)'9' or >= (byte)'A' and <= (byte)'Z';
}
