// Where .NET's own socket completions run: accepts, and every read where ReadinessLoop is off (no epoll, or
// TUKI_POOL_EPOLL=0). .NET's default hands each epoll event to the thread pool (one hop per socket operation); with
// DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 its epoll threads (one per core) run them, which together with the
// inline pipes (PipeSettings) keeps the forwarding path hop-free. The runtime reads the variable once, when the
// first socket is created, so this runs first in Main.
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
