using System.Net;
using Tuki.Pool.Pooler.Clients;

namespace Tuki.Pool.Pooler.Tests.Clients;

public sealed class LoginGuardTests
{
    [Fact]
    public void PerUser_CountsUpToMax_AndAdmitsAgainAfterRelease()
    {
        var guard = new LoginGuard();
        Assert.True(guard.TryAdmitUser("app", 2));
        Assert.True(guard.TryAdmitUser("app", 2));
        Assert.False(guard.TryAdmitUser("app", 2));
        guard.ReleaseUser("app");
        guard.ReleaseUser("app");
        Assert.True(guard.TryAdmitUser("app", 2)); // the count went back to zero and the key stayed: no spin
        Assert.True(guard.TryAdmitUser("other", 0));
    }

    [Fact]
    public void LoginRate_AllowsABurst_ThenRefuses()
    {
        var guard = new LoginGuard();
        var address = IPAddress.Loopback;
        Assert.True(guard.TryLogin(address, 3));
        Assert.True(guard.TryLogin(address, 3));
        Assert.True(guard.TryLogin(address, 3));
        Assert.False(guard.TryLogin(address, 3));
        Assert.True(guard.TryLogin(IPAddress.Parse("10.0.0.1"), 3));
        Assert.True(guard.TryLogin(address, 0));
    }
}
