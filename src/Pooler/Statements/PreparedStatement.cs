// A statement a client prepared with a named Parse, under the name the pooler gives it on servers. The name is
// derived from the statement text and parameter types, so two clients preparing the same statement share one
// server-side copy, and a server that already has it is never asked to prepare it twice.
using System.Security.Cryptography;

namespace Tuki.Pool.Pooler.Statements;

public sealed class PreparedStatement
{
    private const string Prefix = "tuki_";

    private PreparedStatement(UInt128 key, byte[] serverName, byte[] body)
    {
        Key = key;
        ServerName = serverName;
        Body = body;
    }

    /// <summary>Identity on servers: the first 128 bits of SHA-256 over the Parse body (text and parameter types).</summary>
    public UInt128 Key { get; }

    /// <summary><c>tuki_</c> + 32 hex digits, ASCII, without the NUL terminator.</summary>
    public byte[] ServerName { get; }

    /// <summary>The Parse message body after the statement name: query text (NUL-terminated), the count of
    /// parameter types and the types. Replayed on every server that lacks the statement.</summary>
    public byte[] Body { get; }

    /// <summary>A name no server ever holds: <c>Close</c> of it is answered with CloseComplete and changes nothing,
    /// which is how the pooler gets a reply in the right place of the stream without touching server state.</summary>
    public static ReadOnlySpan<byte> NoneName => "tuki_none"u8;

    public static PreparedStatement FromParseBody(ReadOnlySpan<byte> bodyAfterName)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bodyAfterName, hash);
        var key = System.Buffers.Binary.BinaryPrimitives.ReadUInt128BigEndian(hash);
        var name = new byte[Prefix.Length + 32];
        System.Text.Encoding.ASCII.GetBytes(Prefix, name);
        System.Text.Encoding.ASCII.GetBytes(Convert.ToHexStringLower(hash[..16]), name.AsSpan(Prefix.Length));
        return new PreparedStatement(key, name, bodyAfterName.ToArray());
    }

    public override string ToString() => System.Text.Encoding.ASCII.GetString(ServerName);
}
