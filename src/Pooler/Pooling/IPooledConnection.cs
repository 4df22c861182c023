// What a pool needs from a server connection; keeps Pooling free of sockets so its logic is unit-tested alone.
namespace Tuki.Pool.Pooler.Pooling;

public interface IPooledConnection
{
    /// <summary>When the connection was opened (<see cref="TimeProvider.GetTimestamp"/>).</summary>
    long CreatedTimestamp { get; }

    /// <summary>When it last went back to the idle stack; set by the pool.</summary>
    long IdleSinceTimestamp { get; set; }

    /// <summary>The pool generation it was opened in; set by the pool (see <see cref="ServerPool.BumpGeneration"/>).</summary>
    int Generation { get; set; }

    /// <summary>False once the connection failed, or when bytes or EOF arrived while it sat idle.</summary>
    bool CheckUsable();

    /// <summary>Closes the connection (idempotent; the first reason is kept).</summary>
    void Close(DisconnectReason reason);
}
