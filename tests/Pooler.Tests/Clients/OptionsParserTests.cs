// The startup "options" parameter, parsed like PostgreSQL does (JDBC and psycopg send -c settings there).
using Tuki.Pool.Pooler.Clients;

namespace Tuki.Pool.Pooler.Tests.Clients;

public sealed class OptionsParserTests
{
    [Fact]
    public void ParseOptions_DashCAndDoubleDash_AllRead()
    {
        var parsed = ClientSession.ParseOptions(@"-c search_path=app,public --statement-timeout=5s -cwork_mem=64MB -c application_name=a\ b");
        Assert.Equal(
            [new("search_path", "app,public"), new("statement_timeout", "5s"), new("work_mem", "64MB"), new("application_name", "a b")],
            parsed);
    }

    [Theory]
    [InlineData("plain", "E'plain'")]
    [InlineData("it's", "E'it''s'")]
    [InlineData(@"C:\temp\", @"E'C:\\temp\\'")]
    [InlineData(@"x\'; DROP TABLE t; --", @"E'x\\''; DROP TABLE t; --'")]
    public void QuoteLiteral_AnyValue_StaysOneLiteral(string value, string expected)
    {
        Assert.Equal(expected, ClientSession.QuoteLiteral(value));
    }

    [Fact]
    public void ParseOptions_UnknownSwitch_Refused()
    {
        Assert.Throws<Tuki.Pool.Pooler.Protocol.PgErrorException>(() => ClientSession.ParseOptions("-x"));
    }
}
