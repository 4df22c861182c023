// Frontend messages the fault tests send by hand (RawClient sends startup packets and simple queries only).
using System.Buffers.Binary;
using System.Text;

namespace Tuki.Pool.Pooler.IntegrationTests.Faults;

public static class Wire
{
    public static byte[] Message(char code, params byte[][] parts)
    {
        var length = 4 + parts.Sum(p => p.Length);
        var message = new byte[1 + length];
        message[0] = (byte)code;
        BinaryPrimitives.WriteInt32BigEndian(message.AsSpan(1), length);
        var at = 5;
        foreach (var part in parts)
        {
            part.CopyTo(message, at);
            at += part.Length;
        }
        return message;
    }

    public static byte[] CString(string text) => [.. Encoding.UTF8.GetBytes(text), 0];
    public static byte[] Int16(short value) { var b = new byte[2]; BinaryPrimitives.WriteInt16BigEndian(b, value); return b; }
    public static byte[] Int32(int value) { var b = new byte[4]; BinaryPrimitives.WriteInt32BigEndian(b, value); return b; }

    public static byte[] Parse(string name, string sql) => Message('P', CString(name), CString(sql), Int16(0));
    public static byte[] Bind(string portal, string statement) => Message('B', CString(portal), CString(statement), Int16(0), Int16(0), Int16(0));
    public static byte[] Execute(string portal) => Message('E', CString(portal), Int32(0));
    public static byte[] Sync() => Message('S');
    public static byte[] Terminate() => Message('X');
    public static byte[] CopyData(string text) => Message('d', Encoding.UTF8.GetBytes(text));

    /// <summary>SASLInitialResponse for SCRAM-SHA-256 with a client-first-message (no channel binding).</summary>
    public static byte[] SaslInitialResponse(string nonce)
    {
        var clientFirst = Encoding.ASCII.GetBytes("n,,n=,r=" + nonce);
        return Message('p', CString("SCRAM-SHA-256"), Int32(clientFirst.Length), clientFirst);
    }

    public static byte[] Concat(params byte[][] messages) => [.. messages.SelectMany(m => m)];

    /// <summary>The Int32 after the type of an Authentication ('R') message: 10 SASL, 11 SASLContinue, 0 Ok.</summary>
    public static int AuthenticationCode(byte[] body) => BinaryPrimitives.ReadInt32BigEndian(body);
}
