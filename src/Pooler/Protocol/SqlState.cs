// SQLSTATE codes the pooler raises itself, by condition name, grouped by class (Appendix A of the PostgreSQL docs).
namespace Tuki.Pool.Pooler.Protocol;

public static class SqlState
{
    // Class 08 — Connection Exception
    public const string ConnectionFailure = "08006";
    public const string SqlClientUnableToEstablishSqlConnection = "08001";
    public const string ProtocolViolation = "08P01";
    // Class 0A — Feature Not Supported
    public const string FeatureNotSupported = "0A000";
    // Class 25 — Invalid Transaction State
    public const string IdleInTransactionSessionTimeout = "25P03";
    // Class 28 — Invalid Authorization Specification
    public const string InvalidAuthorizationSpecification = "28000";
    public const string InvalidPassword = "28P01";
    // Class 3D — Invalid Catalog Name
    public const string InvalidCatalogName = "3D000";
    // Class 42 — Syntax Error or Access Rule Violation
    public const string SyntaxError = "42601";
    // Class 53 — Insufficient Resources
    public const string TooManyConnections = "53300";
    // Class 54 — Program Limit Exceeded
    public const string ProgramLimitExceeded = "54000";
    // Class 57 — Operator Intervention
    public const string QueryCanceled = "57014";
    public const string AdminShutdown = "57P01";
    public const string CannotConnectNow = "57P03";
    // Class 58 — System Error
    public const string SystemError = "58000";
    // Class F0 — Configuration File Error
    public const string ConfigFileError = "F0000";
}
