// The untyped first packet a client sends: StartupMessage, SSLRequest, GSSENCRequest or CancelRequest.
namespace Tuki.Pool.Pooler.Protocol;

public enum StartupKind { Startup, SslRequest, GssEncRequest, CancelRequest }

/// <summary>A parsed first packet. For <see cref="StartupKind.Startup"/>, <see cref="Parameters"/> holds the
/// name/value pairs in the order sent; for <see cref="StartupKind.CancelRequest"/>, the key to cancel.</summary>
public sealed record StartupPacket(
    StartupKind Kind,
    int ProtocolVersion,
    IReadOnlyList<KeyValuePair<string, string>> Parameters,
    int CancelProcessId = 0,
    int CancelSecretKey = 0)
{
    public string? this[string name]
    {
        get
        {
            foreach (var (key, value) in Parameters)
                if (key == name)
                    return value;
            return null;
        }
    }
}
