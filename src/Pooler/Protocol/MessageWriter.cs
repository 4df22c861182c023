// Writers for the messages the pooler sends itself. Each computes its length as a commented sum of its fields;
// the span writer verifies that exactly that many bytes were written (Npgsql's StartMessage habit).
using System.Buffers;
using System.Buffers.Binary;
using System.Text;

namespace Tuki.Pool.Pooler.Protocol;

public static class MessageWriter
{
    private static readonly Encoding Utf8 = Encoding.UTF8;

    private static int CStringLength(string s) => Utf8.GetByteCount(s) + 1;

    /// <summary>ReadyForQuery: type, length 5, status byte.</summary>
    public static void WriteReadyForQuery(IBufferWriter<byte> writer, byte status)
    {
        var span = writer.GetSpan(6);
        span[0] = BackendCode.ReadyForQuery;
        BinaryPrimitives.WriteInt32BigEndian(span.Slice(1), 5);
        span[5] = status;
        writer.Advance(6);
    }

    /// <summary>ErrorResponse or NoticeResponse: fields S (severity), V (non-localized severity), C, M, H?, terminator.</summary>
    public static void WriteErrorResponse(IBufferWriter<byte> writer, PgError error, byte code = BackendCode.ErrorResponse)
    {
        var length = 4
            + 1 + CStringLength(error.Severity)  // S
            + 1 + CStringLength(error.Severity)  // V
            + 1 + CStringLength(error.Code)      // C
            + 1 + CStringLength(error.Message)   // M
            + (error.Hint is null ? 0 : 1 + CStringLength(error.Hint))
            + 1;                                 // terminator
        var m = new SpanWriter(writer, code, length);
        m.Byte((byte)'S'); m.CString(error.Severity);
        m.Byte((byte)'V'); m.CString(error.Severity);
        m.Byte((byte)'C'); m.CString(error.Code);
        m.Byte((byte)'M'); m.CString(error.Message);
        if (error.Hint is not null) { m.Byte((byte)'H'); m.CString(error.Hint); }
        m.Byte(0);
        m.End();
    }

    /// <summary>ParameterStatus: name and value as C strings.</summary>
    public static void WriteParameterStatus(IBufferWriter<byte> writer, string name, string value)
    {
        var m = new SpanWriter(writer, BackendCode.ParameterStatus, 4 + CStringLength(name) + CStringLength(value));
        m.CString(name);
        m.CString(value);
        m.End();
    }

    /// <summary>BackendKeyData: process id and secret key.</summary>
    public static void WriteBackendKeyData(IBufferWriter<byte> writer, int processId, int secretKey)
    {
        var m = new SpanWriter(writer, BackendCode.BackendKeyData, 4 + 4 + 4);
        m.Int32(processId);
        m.Int32(secretKey);
        m.End();
    }

    /// <summary>AuthenticationXXX: request code then method-specific data (salt, SASL payload).</summary>
    public static void WriteAuthentication(IBufferWriter<byte> writer, int authCode, ReadOnlySpan<byte> data = default)
    {
        var m = new SpanWriter(writer, BackendCode.Authentication, 4 + 4 + data.Length);
        m.Int32(authCode);
        m.Bytes(data);
        m.End();
    }

    /// <summary>AuthenticationSASL: code 10 then the mechanism names, each a C string, then an empty one.</summary>
    public static void WriteAuthenticationSasl(IBufferWriter<byte> writer, string mechanism)
    {
        var m = new SpanWriter(writer, BackendCode.Authentication, 4 + 4 + CStringLength(mechanism) + 1);
        m.Int32(AuthCode.Sasl);
        m.CString(mechanism);
        m.Byte(0);
        m.End();
    }

    /// <summary>NegotiateProtocolVersion: the newest protocol version we support for the client's major version
    /// (PostgreSQL sends the whole number, e.g. 196608 for 3.0) and the options we did not recognise.</summary>
    public static void WriteNegotiateProtocolVersion(IBufferWriter<byte> writer, int version, IReadOnlyList<string> unrecognized)
    {
        var length = 4 + 4 + 4;
        foreach (var option in unrecognized) length += CStringLength(option);
        var m = new SpanWriter(writer, BackendCode.NegotiateProtocolVersion, length);
        m.Int32(version);
        m.Int32(unrecognized.Count);
        foreach (var option in unrecognized) m.CString(option);
        m.End();
    }

    /// <summary>Query: the SQL text as a C string.</summary>
    public static void WriteQuery(IBufferWriter<byte> writer, string sql)
    {
        var m = new SpanWriter(writer, FrontendCode.Query, 4 + CStringLength(sql));
        m.CString(sql);
        m.End();
    }

    /// <summary>CommandComplete: tag.</summary>
    public static void WriteCommandComplete(IBufferWriter<byte> writer, string tag)
    {
        var m = new SpanWriter(writer, BackendCode.CommandComplete, 4 + CStringLength(tag));
        m.CString(tag);
        m.End();
    }

    /// <summary>Parse: statement name, then the body of a client's Parse after its name (text, parameter types).</summary>
    public static void WriteParse(IBufferWriter<byte> writer, ReadOnlySpan<byte> name, ReadOnlySpan<byte> bodyAfterName)
    {
        var m = new SpanWriter(writer, FrontendCode.Parse, 4 + name.Length + 1 + bodyAfterName.Length);
        m.CString(name);
        m.Bytes(bodyAfterName);
        m.End();
    }

    /// <summary>Close of a prepared statement: 'S', name.</summary>
    public static void WriteCloseStatement(IBufferWriter<byte> writer, ReadOnlySpan<byte> name)
    {
        var m = new SpanWriter(writer, FrontendCode.Close, 4 + 1 + name.Length + 1);
        m.Byte((byte)'S');
        m.CString(name);
        m.End();
    }

    /// <summary>SSLRequest: length 8 and the request code, no message type byte.</summary>
    public static void WriteSslRequest(IBufferWriter<byte> writer)
    {
        var m = new SpanWriter(writer, null, 8);
        m.Int32(StartupCode.SslRequest);
        m.End();
    }

    /// <summary>Sync: header only.</summary>
    public static void WriteSync(IBufferWriter<byte> writer)
    {
        var m = new SpanWriter(writer, FrontendCode.Sync, 4);
        m.End();
    }

    /// <summary>Terminate: header only.</summary>
    public static void WriteTerminate(IBufferWriter<byte> writer)
    {
        var m = new SpanWriter(writer, FrontendCode.Terminate, 4);
        m.End();
    }

    /// <summary>CopyFail: the reason as a C string.</summary>
    public static void WriteCopyFail(IBufferWriter<byte> writer, string reason)
    {
        var m = new SpanWriter(writer, FrontendCode.CopyFail, 4 + CStringLength(reason));
        m.CString(reason);
        m.End();
    }

    /// <summary>PasswordMessage: a C string (cleartext or md5 hash).</summary>
    public static void WritePasswordMessage(IBufferWriter<byte> writer, string password)
    {
        var m = new SpanWriter(writer, FrontendCode.Password, 4 + CStringLength(password));
        m.CString(password);
        m.End();
    }

    /// <summary>SASLInitialResponse: mechanism name, Int32 length of the data, the data.</summary>
    public static void WriteSaslInitialResponse(IBufferWriter<byte> writer, string mechanism, ReadOnlySpan<byte> data)
    {
        var m = new SpanWriter(writer, FrontendCode.Password, 4 + CStringLength(mechanism) + 4 + data.Length);
        m.CString(mechanism);
        m.Int32(data.Length);
        m.Bytes(data);
        m.End();
    }

    /// <summary>SASLResponse: the data, unframed.</summary>
    public static void WriteSaslResponse(IBufferWriter<byte> writer, ReadOnlySpan<byte> data)
    {
        var m = new SpanWriter(writer, FrontendCode.Password, 4 + data.Length);
        m.Bytes(data);
        m.End();
    }

    /// <summary>StartupMessage (untyped): length, protocol 3.0, name/value C strings, terminator.</summary>
    public static void WriteStartupMessage(IBufferWriter<byte> writer, IEnumerable<KeyValuePair<string, string>> parameters)
    {
        var length = 4 + 4 + 1;
        foreach (var (name, value) in parameters) length += CStringLength(name) + CStringLength(value);
        var m = new SpanWriter(writer, code: null, length);
        m.Int32(StartupCode.ProtocolVersion3);
        foreach (var (name, value) in parameters) { m.CString(name); m.CString(value); }
        m.Byte(0);
        m.End();
    }

    /// <summary>CancelRequest (untyped): length 16, code, process id, secret key.</summary>
    public static void WriteCancelRequest(IBufferWriter<byte> writer, int processId, int secretKey)
    {
        var m = new SpanWriter(writer, code: null, 16);
        m.Int32(StartupCode.CancelRequest);
        m.Int32(processId);
        m.Int32(secretKey);
        m.End();
    }

    /// <summary>Writes one message into a span sized up front; <see cref="End"/> checks the declared length.</summary>
    private ref struct SpanWriter
    {
        private readonly IBufferWriter<byte> _writer;
        private readonly Span<byte> _span;
        private readonly int _total;
        private int _position;

        public SpanWriter(IBufferWriter<byte> writer, byte? code, int length)
        {
            _writer = writer;
            _total = length + (code is null ? 0 : 1);
            _span = writer.GetSpan(_total);
            if (code is not null) _span[_position++] = code.Value;
            Int32(length);
        }

        public void Byte(byte value) => _span[_position++] = value;

        public void Int32(int value)
        {
            BinaryPrimitives.WriteInt32BigEndian(_span.Slice(_position), value);
            _position += 4;
        }

        public void Bytes(ReadOnlySpan<byte> value)
        {
            value.CopyTo(_span.Slice(_position));
            _position += value.Length;
        }

        public void CString(string value)
        {
            _position += Utf8.GetBytes(value, _span.Slice(_position));
            _span[_position++] = 0;
        }

        public void CString(ReadOnlySpan<byte> value)
        {
            Bytes(value);
            _span[_position++] = 0;
        }

        public readonly void End()
        {
            if (_position != _total)
                throw new InvalidOperationException($"message length mismatch: declared {_total}, wrote {_position}");
            _writer.Advance(_total);
        }
    }
}
