// Effective settings of one pool after defaults and per-database overrides; immutable, swapped whole on reload.
namespace Tuki.Pool.Pooler.Pooling;

public sealed record PoolSettings(
    int Size,
    int MinSize,
    TimeSpan QueryWait,
    TimeSpan ServerIdle,
    TimeSpan ServerLifetime,
    int MaxPinned = 1)
{
    public static readonly TimeSpan NoLimit = TimeSpan.Zero;
}
