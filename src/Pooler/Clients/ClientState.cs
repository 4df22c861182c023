// Where a client connection is in its life (PgBouncer's CL_* states); counted per pool by metrics and SHOW POOLS.
namespace Tuki.Pool.Pooler.Clients;

public enum ClientState
{
    /// <summary>Startup and authentication, no pool yet.</summary>
    Login,
    /// <summary>Logged in, between transactions, holding no server.</summary>
    Idle,
    /// <summary>Has sent the first message of a transaction and waits for a server (or for RESUME).</summary>
    Waiting,
    /// <summary>Holds a server for its current transaction.</summary>
    Active,
    /// <summary>Keeps its server until it disconnects (LISTEN, temporary tables, session advisory locks, ...).</summary>
    Pinned,
    /// <summary>Gone or being closed; a server it held may still be rolled back.</summary>
    Closing,
}

public static class ClientStates
{
    /// <summary>Lowercase label used in metrics and SHOW CLIENTS.</summary>
    public static string Label(this ClientState state) => state switch
    {
        ClientState.Login => "login",
        ClientState.Idle => "idle",
        ClientState.Waiting => "waiting",
        ClientState.Active => "active",
        ClientState.Pinned => "pinned",
        _ => "closing",
    };
}
