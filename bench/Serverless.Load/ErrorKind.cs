// A short, stable name for a failure: the SQLSTATE and condition when PostgreSQL (or the pooler) answered
// with an error, the exception type otherwise.
using Npgsql;

namespace Tuki.Pool.Bench.ServerlessLoad;

public static class ErrorKind
{
    public static string Of(Exception e) => e switch
    {
        PostgresException pg => $"{pg.SqlState} {Shorten(pg.MessageText)}",
        NpgsqlException { InnerException: TimeoutException } => "client timeout",
        NpgsqlException { InnerException: { } inner } => $"{e.GetType().Name}: {inner.GetType().Name}",
        _ => e.GetType().Name,
    };

    static string Shorten(string message) => message.Length <= 60 ? message : message[..60] + "…";
}
