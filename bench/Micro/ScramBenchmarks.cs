// SCRAM-SHA-256 costs: the pooler's server side of a client login (no PBKDF2: it holds StoredKey/ServerKey) and
// its client side towards PostgreSQL (PBKDF2 with the server's iteration count, unless the pool's cache hits).
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Tuki.Pool.Pooler.Auth;

namespace Tuki.Pool.Bench.Micro;

public class ScramBenchmarks
{
    private const string Password = "bench-password";
    private const string ClientNonce = "rOprNGfwEbeRWgbNEkqO";
    private const string ServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
    private ScramSecret _secret = null!;
    private string _clientFirst = "";
    private string _serverFirst = "";
    private string _clientFinal = "";
    private readonly SaltedPasswordCache _cache = new();

    [Params(16, 4096)]
    public int Iterations { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _secret = ScramSecret.FromPassword(Password, RandomNumberGenerator.GetBytes(16), Iterations);
        var client = new ScramClient(Password, clientNonce: ClientNonce);
        _clientFirst = client.ClientFirst();
        _serverFirst = new ScramServer(_secret, serverNonce: ServerNonce).HandleClientFirst(_clientFirst);
        _clientFinal = client.ClientFinal(_serverFirst);
        ClientProofCached(); // fills the cache
    }

    [Benchmark(Description = "server: client-first + verify proof")]
    public string? ServerExchange()
    {
        var server = new ScramServer(_secret, serverNonce: ServerNonce);
        server.HandleClientFirst(_clientFirst);
        return server.HandleClientFinal(_clientFinal) ?? throw new InvalidOperationException("proof rejected");
    }

    [Benchmark(Description = "client: proof with PBKDF2")]
    public string ClientProof()
    {
        var client = new ScramClient(Password, clientNonce: ClientNonce);
        client.ClientFirst();
        return client.ClientFinal(_serverFirst);
    }

    [Benchmark(Description = "client: proof, SaltedPassword cached")]
    public string ClientProofCached()
    {
        var client = new ScramClient(Password, _cache, clientNonce: ClientNonce);
        client.ClientFirst();
        return client.ClientFinal(_serverFirst);
    }
}
