// Readers for the few backend messages the pooler must understand (ReadyForQuery, ParameterStatus,
// BackendKeyData, ErrorResponse, Authentication). Input is the message body, after the 5-byte header.
using System.Buffers.Binary;
using System.Text;

namespace Tuki.Pool.Pooler.Protocol;

public static class MessageParser
{
    public static (string Name, string Value) ParameterStatus(ReadOnlySpan<byte> body)
    {
        var name = CString(ref body);
        var value = CString(ref body);
        return (name, value);
    }

    public static (int ProcessId, int SecretKey) BackendKeyData(ReadOnlySpan<byte> body)
    {
        if (body.Length < 8)
            throw new ProtocolViolationException("BackendKeyData too short");
        return (BinaryPrimitives.ReadInt32BigEndian(body), BinaryPrimitives.ReadInt32BigEndian(body.Slice(4)));
    }

    /// <summary>ErrorResponse/NoticeResponse fields we care about; falls back to the localized severity (S) when V is absent.</summary>
    public static PgError ErrorResponse(ReadOnlySpan<byte> body)
    {
        string severity = "ERROR", code = SqlState.SystemError, message = "", localizedSeverity = "";
        string? hint = null;
        bool hasV = false;
        while (body.Length > 0 && body[0] != 0)
        {
            var field = body[0];
            body = body.Slice(1);
            var value = CString(ref body);
            switch (field)
            {
                case (byte)'S': localizedSeverity = value; break;
                case (byte)'V': severity = value; hasV = true; break;
                case (byte)'C': code = value; break;
                case (byte)'M': message = value; break;
                case (byte)'H': hint = value; break;
            }
        }
        return new PgError(hasV ? severity : localizedSeverity, code, message, hint);
    }

    /// <summary>The columns of a DataRow in text format (null for SQL NULL). A row whose counts or lengths do not fit
    /// its body is a protocol violation, not an index error.</summary>
    public static string?[] DataRow(ReadOnlySpan<byte> body)
    {
        if (body.Length < 2)
            throw new ProtocolViolationException("DataRow too short");
        var count = BinaryPrimitives.ReadInt16BigEndian(body);
        body = body[2..];
        // Each column takes at least its 4-byte length: a count the body cannot hold is refused before allocating.
        if (count < 0 || count > body.Length / 4)
            throw new ProtocolViolationException($"DataRow declares {count} columns in {body.Length} bytes");
        var columns = new string?[count];
        for (var i = 0; i < columns.Length; i++)
        {
            if (body.Length < 4)
                throw new ProtocolViolationException("DataRow ends inside a column length");
            var length = BinaryPrimitives.ReadInt32BigEndian(body);
            body = body[4..];
            if (length < 0)
                continue;
            if (length > body.Length)
                throw new ProtocolViolationException($"DataRow column of {length} bytes overruns the message");
            columns[i] = Encoding.UTF8.GetString(body[..length]);
            body = body[length..];
        }
        return columns;
    }

    public static int AuthenticationCode(ReadOnlySpan<byte> body)
    {
        if (body.Length < 4)
            throw new ProtocolViolationException("Authentication message too short");
        return BinaryPrimitives.ReadInt32BigEndian(body);
    }

    public static string CString(ref ReadOnlySpan<byte> span)
    {
        var end = span.IndexOf((byte)0);
        if (end < 0)
            throw new ProtocolViolationException("unterminated string in message");
        var text = Encoding.UTF8.GetString(span.Slice(0, end));
        span = span.Slice(end + 1);
        return text;
    }
}
