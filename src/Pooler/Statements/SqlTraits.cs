// What the pooler must know about a Query or Parse text before forwarding it in transaction mode.
namespace Tuki.Pool.Pooler.Statements;

[Flags]
public enum SqlTrait
{
    None = 0,
    /// <summary>A session-level SET/RESET/set_config: the client's settings are read back after its transaction.</summary>
    ChangesSettings = 1,
    /// <summary>Session state that lives on one server (see <see cref="SqlTraits.PinFeature"/>).</summary>
    NeedsPin = 2,
    /// <summary>BEGIN / START TRANSACTION (refused in statement mode).</summary>
    BeginsTransaction = 4,
    /// <summary>A <c>DISCARD ALL</c> statement.</summary>
    DiscardAll = 8,
    /// <summary>A <c>DEALLOCATE [PREPARE] ALL</c> statement.</summary>
    DeallocateAll = 16,
    /// <summary>A <c>DEALLOCATE [PREPARE] name</c> statement (see <see cref="SqlTraits.DeallocateName"/>).</summary>
    Deallocate = 32,
}

/// <param name="Single">The text holds one statement: only then may the pooler answer DISCARD/DEALLOCATE itself.</param>
public readonly record struct SqlTraits(SqlTrait Flags, string? PinFeature = null, string? DeallocateName = null, bool Single = true)
{
    public bool Has(SqlTrait trait) => (Flags & trait) != 0;
}
