using System.Text;
using Tuki.Pool.Pooler.Statements;

namespace Tuki.Pool.Pooler.Tests.Statements;

public sealed class SqlInspectorTests
{
    private static SqlTraits Inspect(string sql) => SqlInspector.Inspect(Encoding.UTF8.GetBytes(sql));

    [Theory]
    [InlineData("SET search_path = a, b")]
    [InlineData("  set statement_timeout to '5s'")]
    [InlineData("SET SESSION TimeZone = 'UTC'")]
    [InlineData("SET ROLE reader")]
    [InlineData("SET SESSION AUTHORIZATION bob")]
    [InlineData("RESET ALL")]
    [InlineData("SELECT set_config('a.b', 'c', false)")]
    [InlineData("BEGIN; SET x.y = 1; COMMIT")]
    [InlineData("/* app */ -- note\n SET work_mem = '64MB'")]
    public void SessionSettings_AreSeen(string sql) => Assert.True(Inspect(sql).Has(SqlTrait.ChangesSettings));

    [Theory]
    [InlineData("SET LOCAL statement_timeout = '1s'")]
    [InlineData("SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")]
    [InlineData("SELECT 'SET x = 1'")]
    [InlineData("SELECT abalance FROM pgbench_accounts WHERE aid = $1")]
    [InlineData("UPDATE settings SET value = 1")]
    public void OtherStatements_AreNotSettings(string sql) => Assert.False(Inspect(sql).Has(SqlTrait.ChangesSettings));

    [Theory]
    [InlineData("LISTEN tickets", "LISTEN")]
    [InlineData("select pg_advisory_lock(1)", "session advisory locks")]
    [InlineData("SELECT PG_TRY_ADVISORY_LOCK(1)", "session advisory locks")]
    [InlineData("CREATE TEMP TABLE t (x int)", "temporary tables")]
    [InlineData("create local temporary table t (x int)", "temporary tables")]
    [InlineData("DECLARE c CURSOR WITH HOLD FOR SELECT 1", "WITH HOLD cursors")]
    [InlineData("PREPARE q AS SELECT 1", "PREPARE")]
    public void PinningFeatures_AreNamed(string sql, string feature)
    {
        var traits = Inspect(sql);
        Assert.True(traits.Has(SqlTrait.NeedsPin));
        Assert.Equal(feature, traits.PinFeature);
    }

    [Theory]
    [InlineData("SELECT pg_advisory_xact_lock(1)")]
    [InlineData("DECLARE c CURSOR FOR SELECT 1")]
    [InlineData("PREPARE TRANSACTION 'x'")]
    [InlineData("CREATE TABLE temp (x int)")]
    [InlineData("UNLISTEN *")]
    public void TransactionScopedFeatures_DoNotPin(string sql) => Assert.False(Inspect(sql).Has(SqlTrait.NeedsPin));

    [Fact]
    public void DiscardAndDeallocate_AreSeen_AndSingleTellsWhetherAlone()
    {
        Assert.True(Inspect("DISCARD ALL").Has(SqlTrait.DiscardAll));
        Assert.True(Inspect(" discard all ; ").Single);
        Assert.True(Inspect("BEGIN; DISCARD ALL").Has(SqlTrait.DiscardAll));
        Assert.False(Inspect("BEGIN; DEALLOCATE ALL; COMMIT").Single);
        Assert.False(Inspect("DISCARD TEMP").Has(SqlTrait.DiscardAll));
        Assert.True(Inspect("DEALLOCATE ALL").Has(SqlTrait.DeallocateAll));
        Assert.True(Inspect("DEALLOCATE PREPARE ALL").Has(SqlTrait.DeallocateAll));

        var named = Inspect("DEALLOCATE \"S_1\"");
        Assert.True(named.Has(SqlTrait.Deallocate));
        Assert.Equal("S_1", named.DeallocateName);
        Assert.Equal("_pg3_0", Inspect("deallocate prepare _PG3_0").DeallocateName);
    }

    [Theory]
    [InlineData("BEGIN")]
    [InlineData("start transaction read only")]
    [InlineData("SELECT 1; BEGIN")]
    public void TransactionStarts_AreSeen(string sql) => Assert.True(Inspect(sql).Has(SqlTrait.BeginsTransaction));
}
