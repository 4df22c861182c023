// Where socket completions run. .NET's default hands each epoll event to the thread pool (one hop per socket
// operation); with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 the epoll threads (one per core) run them, which
// together with the inline pipes (PipeSettings) makes the whole forwarding path hop-free: PgBouncer's event loop,
// one per core. The runtime reads the variable once, when the first socket is created, so this runs first in Main.
namespace Tuki.Pool.Pooler.Transport;

public static class IoThreads
{
    public const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>Turns inline socket completions on unless the environment already chose (set it to 0 to compare).</summary>
    public static void PreferInlineCompletions()
    {
        if (Environment.GetEnvironmentVariable(InlineCompletionsVariable) is null)
            Environment.SetEnvironmentVariable(InlineCompletionsVariable, "1");
    }
}
