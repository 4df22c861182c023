// Identity of a pool: one per (database, user), as in PgBouncer.
namespace Tuki.Pool.Pooler.Pooling;

public readonly record struct PoolKey(string Database, string User)
{
    public override string ToString() => $"{Database}/{User}";
}
