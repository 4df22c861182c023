// The startup packet cache: identical bytes give the very packet parsed before; anything else is parsed anew.
using System.Text;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Pooler.Tests.Protocol;

public sealed class StartupPacketCacheTests
{
    private static byte[] Body(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void SameBytes_SamePacket_OtherBytes_Parsed()
    {
        var cache = new StartupPacketCache();
        var first = cache.GetOrParse(StartupCode.ProtocolVersion3, Body("user\0bob\0database\0app\0\0"));
        var again = cache.GetOrParse(StartupCode.ProtocolVersion3, Body("user\0bob\0database\0app\0\0"));
        var other = cache.GetOrParse(StartupCode.ProtocolVersion3, Body("user\0eve\0database\0app\0\0"));
        Assert.Same(first, again);
        Assert.NotSame(first, other);
        Assert.Equal(("bob", "eve"), (first["user"], other["user"]));
        Assert.Same(first, cache.GetOrParse(StartupCode.ProtocolVersion3, Body("user\0bob\0database\0app\0\0")));
    }

    [Fact]
    public void OtherProtocolMinor_NotTheSamePacket()
    {
        var cache = new StartupPacketCache();
        var v30 = cache.GetOrParse(StartupCode.ProtocolVersion3, Body("user\0bob\0\0"));
        var v32 = cache.GetOrParse(StartupCode.ProtocolVersion3 | 2, Body("user\0bob\0\0"));
        Assert.Equal((StartupCode.ProtocolVersion3, StartupCode.ProtocolVersion3 | 2), (v30.ProtocolVersion, v32.ProtocolVersion));
    }

    [Fact]
    public void BadPacket_ThrowsEveryTime()
    {
        var cache = new StartupPacketCache();
        Assert.Throws<ProtocolViolationException>(() => cache.GetOrParse(StartupCode.ProtocolVersion3, Body("user\0bob")));
        Assert.Throws<ProtocolViolationException>(() => cache.GetOrParse(StartupCode.ProtocolVersion3, Body("user\0bob")));
    }

    [Fact]
    public void LongPacket_ParsedEachTime()
    {
        var cache = new StartupPacketCache();
        var body = Body($"user\0bob\0options\0-c application_name={new string('x', StartupPacketCache.MaxCachedLength)}\0\0");
        Assert.NotSame(cache.GetOrParse(StartupCode.ProtocolVersion3, body), cache.GetOrParse(StartupCode.ProtocolVersion3, body));
    }
}
