// The RFC vectors and failure cases in ScramTests read as text; ScramServer works on the UTF-8 bytes of the wire.
using System.Text;
using Tuki.Pool.Pooler.Auth;

namespace Tuki.Pool.Pooler.Tests.Auth;

internal static class ScramServerText
{
    public static string HandleClientFirst(this ScramServer server, string clientFirst) =>
        Encoding.UTF8.GetString(server.HandleClientFirst(Encoding.UTF8.GetBytes(clientFirst)));

    public static string? HandleClientFinal(this ScramServer server, string clientFinal) =>
        server.HandleClientFinal(Encoding.UTF8.GetBytes(clientFinal)) is { } serverFinal ? Encoding.UTF8.GetString(serverFinal) : null;
}
