// SCRAM-SHA-256 against the RFC 7677 test vector, both sides, plus the failure paths.
using Tuki.Pool.Pooler.Auth;

namespace Tuki.Pool.Pooler.Tests.Auth;

public sealed class ScramTests
{
    // RFC 7677, section 3.
    private const string ClientNonce = "rOprNGfwEbeRWgbNEkqO";
    private const string ServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private const string Salt = "W22ZaJ0SNY7soEsUEjb6gQ==";
    private const string ServerFirst = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
    private const string ClientFinal = "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";
    private const string ServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

    [Fact]
    public void Client_Rfc7677Vector_ProducesExpectedProof()
    {
        var client = new ScramClient("pencil", clientNonce: ClientNonce, user: "user");
        Assert.Equal("n,,n=user,r=" + ClientNonce, client.ClientFirst());
        Assert.Equal(ClientFinal, client.ClientFinal(ServerFirst));
        client.VerifyServerFinal(ServerFinal);
    }

    [Fact]
    public void Client_WrongServerSignature_Throws()
    {
        var client = new ScramClient("pencil", clientNonce: ClientNonce, user: "user");
        client.ClientFirst();
        client.ClientFinal(ServerFirst);
        Assert.Throws<ScramException>(() => client.VerifyServerFinal("v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
    }

    [Fact]
    public void Server_Rfc7677Vector_AcceptsProofAndSigns()
    {
        var secret = ScramSecret.FromPassword("pencil", Convert.FromBase64String(Salt), 4096);
        var server = new ScramServer(secret, serverNonce: ServerNonce);
        Assert.Equal(ServerFirst, server.HandleClientFirst("n,,n=user,r=" + ClientNonce));
        Assert.Equal(ServerFinal, server.HandleClientFinal(ClientFinal));
        Assert.NotNull(server.ClientKey);
    }

    [Fact]
    public void Server_WrongPassword_ReturnsNull()
    {
        var secret = ScramSecret.FromPassword("not-pencil", Convert.FromBase64String(Salt), 4096);
        var server = new ScramServer(secret, serverNonce: ServerNonce);
        server.HandleClientFirst("n,,n=user,r=" + ClientNonce);
        Assert.Null(server.HandleClientFinal(ClientFinal));
    }

    [Fact]
    public void Server_VerifierString_ParsesLikePostgres()
    {
        var derived = ScramSecret.FromPassword("pencil", Convert.FromBase64String(Salt), 4096);
        var text = $"SCRAM-SHA-256$4096:{Salt}${Convert.ToBase64String(derived.StoredKey)}:{Convert.ToBase64String(derived.ServerKey)}";
        Assert.True(ScramSecret.TryParse(text, out var parsed));
        Assert.Equal(derived.StoredKey, parsed!.StoredKey);
        Assert.Equal(4096, parsed.Iterations);
        Assert.False(ScramSecret.TryParse("SCRAM-SHA-256$x:y$z", out _));
    }

    [Fact]
    public void Mock_SameUser_SameSalt_AlwaysFails()
    {
        var key = new byte[32];
        var first = ScramServer.Mock("ghost", key).HandleClientFirst("n,,n=,r=abc");
        var second = ScramServer.Mock("ghost", key).HandleClientFirst("n,,n=,r=abc");
        Assert.Equal(first.Split(',')[1], second.Split(',')[1]); // same s= on every attempt

        var mock = ScramServer.Mock("ghost", key);
        var serverFirst = mock.HandleClientFirst("n,,n=,r=abc");
        var client = new ScramClient("anything", clientNonce: "abc");
        client.ClientFirst();
        Assert.Null(mock.HandleClientFinal(client.ClientFinal(serverFirst)));
    }

    [Theory]
    [InlineData("c=eSws,r=" + ClientNonce + ServerNonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")] // y,, after n,,
    [InlineData("r=" + ClientNonce + ServerNonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")]        // no c=
    public void Server_ChannelBindingAttributeNotMatchingHeader_Refused(string clientFinal)
    {
        var server = new ScramServer(ScramSecret.FromPassword("pencil", Convert.FromBase64String(Salt), 4096), serverNonce: ServerNonce);
        server.HandleClientFirst("n,,n=user,r=" + ClientNonce);
        Assert.Throws<ScramException>(() => server.HandleClientFinal(clientFinal));
    }

    [Theory]
    [InlineData("p=not base64!", true)]                           // malformed: a protocol error
    [InlineData("p=" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false)] // 36 bytes: a wrong proof
    [InlineData("p=AAAA", false)]                                  // 3 bytes: a wrong proof
    public void Server_ProofNotThirtyTwoBytes_RefusedOrFailed(string proof, bool malformed)
    {
        var server = new ScramServer(ScramSecret.FromPassword("pencil", Convert.FromBase64String(Salt), 4096), serverNonce: ServerNonce);
        server.HandleClientFirst("n,,n=user,r=" + ClientNonce);
        var clientFinal = "c=biws,r=" + ClientNonce + ServerNonce + "," + proof;
        if (malformed)
            Assert.Throws<ScramException>(() => server.HandleClientFinal(clientFinal));
        else
            Assert.Null(server.HandleClientFinal(clientFinal));
        Assert.Null(server.ClientKey);
    }

    [Theory]
    [InlineData("c=biws,r=" + ClientNonce + ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")]   // without the server's part
    [InlineData("c=biws,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=")]                      // no r=
    public void Server_NonceNotTheOneAgreed_Refused(string clientFinal)
    {
        var server = new ScramServer(ScramSecret.FromPassword("pencil", Convert.FromBase64String(Salt), 4096), serverNonce: ServerNonce);
        server.HandleClientFirst("n,,n=user,r=" + ClientNonce);
        Assert.Throws<ScramException>(() => server.HandleClientFinal(clientFinal));
    }

    [Fact]
    public void Server_ClientThatCouldBindButDidNot_ItsHeaderIsTheBindingData()
    {
        // "y,,": the client supports channel binding but thinks the server does not; c= must be base64("y,,").
        var secret = ScramSecret.FromPassword("pencil", Convert.FromBase64String(Salt), 4096);
        var plain = new ScramServer(secret, serverNonce: ServerNonce);
        plain.HandleClientFirst("y,,n=user,r=" + ClientNonce);
        Assert.Throws<ScramException>(() => plain.HandleClientFinal(ClientFinal)); // c=biws is n,,'s

        var matching = new ScramServer(secret, serverNonce: ServerNonce);
        matching.HandleClientFirst("y,,n=user,r=" + ClientNonce);
        // Past the binding check; the proof was computed over c=biws, so it is wrong here.
        Assert.Null(matching.HandleClientFinal(ClientFinal.Replace("c=biws", "c=eSws")));
    }

    [Fact]
    public void Server_MissingNonceInClientFirst_Refused()
    {
        var server = new ScramServer(ScramSecret.FromPassword("x", new byte[16], 1));
        Assert.Throws<ScramException>(() => server.HandleClientFirst("n,,n=user,r="));
        Assert.Throws<ScramException>(() => server.HandleClientFirst("n,,n=user"));
    }

    [Fact]
    public void Server_AuthorizationIdentity_Refused()
    {
        var server = new ScramServer(ScramSecret.FromPassword("x", new byte[16], 1));
        var error = Assert.Throws<ScramException>(() => server.HandleClientFirst("n,a=admin,n=,r=abc"));
        Assert.Contains("authorization identity", error.Message);
    }

    [Fact]
    public void Server_ChannelBindingRequested_Refused()
    {
        var server = new ScramServer(ScramSecret.FromPassword("x", new byte[16], 1));
        Assert.Throws<ScramException>(() => server.HandleClientFirst("p=tls-server-end-point,,n=,r=abc"));
    }

    [Fact]
    public void Md5_MatchesPostgresFormula()
    {
        // md5(md5("pw" + "u") + salt), computed independently.
        var stored = Md5Password.StoredHash("pw", "u");
        Assert.Equal("md5" + Hex("pwu"), stored);
        var response = Md5Password.Response("pw", "u", [1, 2, 3, 4]);
        var inner = Hex("pwu");
        var bytes = System.Text.Encoding.ASCII.GetBytes(inner).Concat(new byte[] { 1, 2, 3, 4 }).ToArray();
        Assert.Equal("md5" + Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(bytes)), response);
        Assert.Equal(response, Md5Password.Response(stored, "u", [1, 2, 3, 4]));
        Assert.Equal(response, Md5Password.Response(stored.ToUpperInvariant().Replace("MD5", "md5"), "u", [1, 2, 3, 4]));
        Assert.False(Md5Password.IsHash("md5-this-is-a-35-char-plain-passwor")); // not hex: a password
    }

    private static string Hex(string text) => Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(text)));
}
