// Writes a result set the way PostgreSQL sends one for a simple query: RowDescription, DataRow per row (text
// format), CommandComplete. Numbers go out as int8, everything else as text, which is what psql and PgBouncer's
// exporters expect of an admin console.
using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Pooler.Admin;

public readonly record struct Column(string Name, bool Numeric = false);

internal static class ResultSetWriter
{
    private const int TextOid = 25;
    private const int Int8Oid = 20;

    public static void Write(IBufferWriter<byte> output, IReadOnlyList<Column> columns, IEnumerable<object?[]> rows, string? tag = null)
    {
        WriteRowDescription(output, columns);
        var count = 0;
        foreach (var row in rows)
        {
            WriteDataRow(output, row);
            count++;
        }
        WriteCommandComplete(output, tag ?? $"SHOW {count}");
    }

    private static void WriteRowDescription(IBufferWriter<byte> output, IReadOnlyList<Column> columns)
    {
        // Per field: name, table oid (4), column number (2), type oid (4), type size (2), type modifier (4), format (2).
        var length = 4 + 2;
        foreach (var c in columns)
            length += Encoding.UTF8.GetByteCount(c.Name) + 1 + 18;
        var span = Start(output, BackendCode.RowDescription, length);
        var at = 5;
        BinaryPrimitives.WriteInt16BigEndian(span[at..], (short)columns.Count); at += 2;
        foreach (var c in columns)
        {
            at += Encoding.UTF8.GetBytes(c.Name, span[at..]);
            span[at++] = 0;
            BinaryPrimitives.WriteInt32BigEndian(span[at..], 0); at += 4;
            BinaryPrimitives.WriteInt16BigEndian(span[at..], 0); at += 2;
            BinaryPrimitives.WriteInt32BigEndian(span[at..], c.Numeric ? Int8Oid : TextOid); at += 4;
            BinaryPrimitives.WriteInt16BigEndian(span[at..], (short)(c.Numeric ? 8 : -1)); at += 2;
            BinaryPrimitives.WriteInt32BigEndian(span[at..], -1); at += 4;
            BinaryPrimitives.WriteInt16BigEndian(span[at..], 0); at += 2;
        }
        Finish(output, at, length);
    }

    private static void WriteDataRow(IBufferWriter<byte> output, object?[] values)
    {
        var texts = new string?[values.Length];
        var length = 4 + 2;
        for (var i = 0; i < values.Length; i++)
        {
            texts[i] = Format(values[i]);
            length += 4 + (texts[i] is { } t ? Encoding.UTF8.GetByteCount(t) : 0);
        }
        var span = Start(output, BackendCode.DataRow, length);
        var at = 5;
        BinaryPrimitives.WriteInt16BigEndian(span[at..], (short)values.Length); at += 2;
        foreach (var text in texts)
        {
            if (text is null)
            {
                BinaryPrimitives.WriteInt32BigEndian(span[at..], -1); at += 4;
                continue;
            }
            var n = Encoding.UTF8.GetBytes(text, span[(at + 4)..]);
            BinaryPrimitives.WriteInt32BigEndian(span[at..], n);
            at += 4 + n;
        }
        Finish(output, at, length);
    }

    public static void WriteCommandComplete(IBufferWriter<byte> output, string tag)
    {
        var length = 4 + Encoding.UTF8.GetByteCount(tag) + 1;
        var span = Start(output, BackendCode.CommandComplete, length);
        var at = 5 + Encoding.UTF8.GetBytes(tag, span[5..]);
        span[at++] = 0;
        Finish(output, at, length);
    }

    private static string? Format(object? value) => value switch
    {
        null => null,
        bool b => b ? "1" : "0",
        double d => d.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture),
        DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", System.Globalization.CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, System.Globalization.CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private static Span<byte> Start(IBufferWriter<byte> output, byte code, int length)
    {
        var span = output.GetSpan(length + 1);
        span[0] = code;
        BinaryPrimitives.WriteInt32BigEndian(span[1..], length);
        return span;
    }

    private static void Finish(IBufferWriter<byte> output, int written, int length)
    {
        if (written != length + 1)
            throw new InvalidOperationException($"message length mismatch: declared {length + 1}, wrote {written}");
        output.Advance(written);
    }
}
