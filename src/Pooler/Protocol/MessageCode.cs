// The wire vocabulary of protocol 3.0, named as in the PostgreSQL docs ("Message Formats").
// https://www.postgresql.org/docs/current/protocol-message-formats.html
namespace Tuki.Pool.Pooler.Protocol;

/// <summary>Type bytes of messages sent by the client (frontend).</summary>
public static class FrontendCode
{
    public const byte Bind = (byte)'B';
    public const byte Close = (byte)'C';
    public const byte CopyData = (byte)'d';
    public const byte CopyDone = (byte)'c';
    public const byte CopyFail = (byte)'f';
    public const byte Describe = (byte)'D';
    public const byte Execute = (byte)'E';
    public const byte Flush = (byte)'H';
    public const byte FunctionCall = (byte)'F';
    public const byte Parse = (byte)'P';
    /// <summary>PasswordMessage, SASLInitialResponse and SASLResponse share this byte.</summary>
    public const byte Password = (byte)'p';
    public const byte Query = (byte)'Q';
    public const byte Sync = (byte)'S';
    public const byte Terminate = (byte)'X';
}

/// <summary>Type bytes of messages sent by the server (backend).</summary>
public static class BackendCode
{
    public const byte Authentication = (byte)'R';
    public const byte BackendKeyData = (byte)'K';
    public const byte BindComplete = (byte)'2';
    public const byte CloseComplete = (byte)'3';
    public const byte CommandComplete = (byte)'C';
    public const byte CopyData = (byte)'d';
    public const byte CopyDone = (byte)'c';
    public const byte CopyInResponse = (byte)'G';
    public const byte CopyOutResponse = (byte)'H';
    public const byte CopyBothResponse = (byte)'W';
    public const byte DataRow = (byte)'D';
    public const byte EmptyQueryResponse = (byte)'I';
    public const byte ErrorResponse = (byte)'E';
    public const byte NegotiateProtocolVersion = (byte)'v';
    public const byte NoData = (byte)'n';
    public const byte NoticeResponse = (byte)'N';
    public const byte NotificationResponse = (byte)'A';
    public const byte ParameterDescription = (byte)'t';
    public const byte ParameterStatus = (byte)'S';
    public const byte ParseComplete = (byte)'1';
    public const byte PortalSuspended = (byte)'s';
    public const byte ReadyForQuery = (byte)'Z';
    public const byte RowDescription = (byte)'T';
}

/// <summary>Request codes of the untyped first packet (StartupMessage and friends).</summary>
public static class StartupCode
{
    public const int ProtocolVersion3 = 3 << 16;          // 196608
    public const int CancelRequest = (1234 << 16) | 5678; // 80877102
    public const int SslRequest = (1234 << 16) | 5679;    // 80877103
    public const int GssEncRequest = (1234 << 16) | 5680; // 80877104
}

/// <summary>Authentication request codes carried in AuthenticationXXX ('R') messages.</summary>
public static class AuthCode
{
    public const int Ok = 0;
    public const int CleartextPassword = 3;
    public const int Md5Password = 5;
    public const int Sasl = 10;
    public const int SaslContinue = 11;
    public const int SaslFinal = 12;
}

/// <summary>Transaction status byte of ReadyForQuery.</summary>
public static class TransactionStatus
{
    public const byte Idle = (byte)'I';
    public const byte InTransaction = (byte)'T';
    public const byte Failed = (byte)'E';
}
