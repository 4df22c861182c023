// An error (or notice) the pooler sends itself: severity, SQLSTATE, message and an optional hint.
namespace Tuki.Pool.Pooler.Protocol;

public sealed record PgError(string Severity, string Code, string Message, string? Hint = null)
{
    /// <summary>FATAL errors end the client connection; ERROR errors end only the current request.</summary>
    public bool IsFatal => Severity is "FATAL" or "PANIC";
    public override string ToString() => $"{Severity} {Code}: {Message}";
}

/// <summary>Thrown inside a session when the pooler must answer with <see cref="Error"/>.</summary>
public sealed class PgErrorException(PgError error) : Exception(error.Message)
{
    public PgError Error { get; } = error;
}
