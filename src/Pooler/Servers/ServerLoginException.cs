// A server connection could not be opened or logged in; carries the error to show the client.
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Pooler.Servers;

public sealed class ServerLoginException(PgError error, Exception? inner = null) : Exception(error.Message, inner)
{
    public PgError Error { get; } = error;
}
