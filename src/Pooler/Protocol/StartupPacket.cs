// The untyped first packet a client sends: StartupMessage, SSLRequest, GSSENCRequest or CancelRequest.
namespace Tuki.Pool.Pooler.Protocol;

public enum StartupKind { Startup, SslRequest, GssEncRequest, CancelRequest }

/// <summary>A parsed first packet. For <see cref="StartupKind.Startup"/>, <see cref="Parameters"/> holds the
/// name/value pairs in the order sent; for <see cref="StartupKind.CancelRequest"/>, the key to cancel. Never changed
/// once parsed: <see cref="StartupPacketCache"/> hands one instance to every login that sent the same bytes.</summary>
public sealed class StartupPacket(
    StartupKind kind,
    int protocolVersion,
    IReadOnlyList<KeyValuePair<string, string>> parameters,
    int cancelProcessId = 0,
    int cancelSecretKey = 0)
{
    public StartupKind Kind { get; } = kind;
    public int ProtocolVersion { get; } = protocolVersion;
    public IReadOnlyList<KeyValuePair<string, string>> Parameters { get; } = parameters;
    public int CancelProcessId { get; } = cancelProcessId;
    public int CancelSecretKey { get; } = cancelSecretKey;

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

    /// <summary>The session settings the parameters ask for (null inside: none), kept here so a packet reused by the
    /// cache is not derived again; null until the first login that used it derived them. The table must never change
    /// afterwards: every login with these bytes shares it.</summary>
    internal System.Runtime.CompilerServices.StrongBox<ParameterTable?>? Settings;
}
