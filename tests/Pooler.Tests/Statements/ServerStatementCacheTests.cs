using System.Text;
using Tuki.Pool.Pooler.Statements;

namespace Tuki.Pool.Pooler.Tests.Statements;

public sealed class ServerStatementCacheTests
{
    private static PreparedStatement Statement(string sql) => PreparedStatement.FromParseBody([.. Encoding.UTF8.GetBytes(sql), 0, 0, 0]);

    [Fact]
    public void SameText_SameServerName_DifferentTypes_Different()
    {
        var a = Statement("SELECT $1");
        Assert.Equal(a.Key, Statement("SELECT $1").Key);
        Assert.Equal(37, a.ServerName.Length);
        Assert.StartsWith("tuki_", a.ToString());
        var typed = PreparedStatement.FromParseBody([.. "SELECT $1"u8, 0, 0, 1, 0, 0, 0, 23]);
        Assert.NotEqual(a.Key, typed.Key);
    }

    [Fact]
    public void Full_EvictsLeastRecentlyUsedConfirmedEntry()
    {
        var cache = new ServerStatementCache(2);
        var (a, b, c) = (Statement("a"), Statement("b"), Statement("c"));
        Assert.Null(cache.Add(a, -1));
        Assert.Null(cache.Add(b, -1));
        cache.Find(a.Key); // a is now the most recently used
        Assert.Same(b, cache.Add(c, -1));
        Assert.True(cache.Contains(a.Key));
        Assert.False(cache.Contains(b.Key));
    }

    [Fact]
    public void PendingEntries_AreNeverEvicted_AndFailedOnesGoBack()
    {
        var cache = new ServerStatementCache(1);
        var (a, b) = (Statement("a"), Statement("b"));
        cache.Add(a, pendingGroup: 0);
        Assert.Null(cache.Add(b, pendingGroup: 0)); // over capacity rather than evicting an unconfirmed Parse
        Assert.Equal(2, cache.Count);

        cache.RemoveIfPending(a.Key, group: 1); // another group's failure: not this entry
        Assert.True(cache.Contains(a.Key));
        cache.RemoveIfPending(a.Key, group: 0);
        Assert.False(cache.Contains(a.Key));

        cache.Confirm(b.Key);
        cache.Restore(a);
        Assert.Equal(2, cache.Count);
        cache.Clear();
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void ClientNames_LookedUpByBytes_AndForgottenOnlyIfUnchanged()
    {
        var names = new ClientStatements();
        var (a, b) = (Statement("a"), Statement("b"));
        var stored = names.Set("S_1"u8, a);
        Assert.True(names.TryGet("S_1"u8, out var found));
        Assert.Same(a, found);
        names.Set("S_1"u8, b);
        names.RemoveIf(stored, a); // the name was reused meanwhile: kept
        Assert.True(names.TryGet("S_1"u8, out found));
        Assert.Same(b, found);
        Assert.True(names.Remove("S_1"u8));
        Assert.False(names.TryGet("S_1"u8, out _));
    }

    [Fact]
    public void TryFindName_ReadsEachMessageKind()
    {
        Assert.True(StatementMessages.TryFindName((byte)'B', "portal\0stmt\0\0\0"u8, out var offset, out var length, out var isStatement));
        Assert.Equal((7, 4, true), (offset, length, isStatement));
        Assert.True(StatementMessages.TryFindName((byte)'D', "Pp1\0"u8, out offset, out length, out isStatement));
        Assert.Equal((1, 2, false), (offset, length, isStatement));
        Assert.True(StatementMessages.TryFindName((byte)'P', "\0SELECT 1\0\0\0"u8, out offset, out length, out _));
        Assert.Equal((0, 0), (offset, length));
        Assert.False(StatementMessages.TryFindName((byte)'B', "no-terminator"u8, out _, out _, out _));
    }
}
