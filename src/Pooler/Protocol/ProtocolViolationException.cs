// Raised by the codecs when a peer sends bytes that break the protocol; the session answers 08P01 and closes.
namespace Tuki.Pool.Pooler.Protocol;

public sealed class ProtocolViolationException(string message) : Exception(message);
