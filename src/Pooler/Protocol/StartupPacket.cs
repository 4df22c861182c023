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
            // By index: a foreach over the interface would allocate an enumerator per look-up.
            for (var i = 0; i < Parameters.Count; i++)
                if (Parameters[i].Key == name)
                    return Parameters[i].Value;
            return null;
        }
    }
}
