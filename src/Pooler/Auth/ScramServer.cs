// Server side of SCRAM-SHA-256 (the pooler authenticating a client), names as in RFC 5802 so the code can be
// checked against it. The proof is compared in constant time.
using System.Security.Cryptography;
using System.Text;

namespace Tuki.Pool.Pooler.Auth;

/// <summary>
/// One exchange: <see cref="HandleClientFirst"/> returns server-first-message, <see cref="HandleClientFinal"/>
/// verifies the ClientProof and returns server-final-message. A <c>null</c> secret runs a mock exchange (for
/// unknown users) that always fails at the proof, so user names cannot be probed. The messages are handled as the
/// UTF-8 bytes they arrive and leave as: a login builds no strings for them (≈1.2 KB it used to, bench/RESULTS.md).
/// </summary>
public sealed class ScramServer(ScramSecret secret, bool isMock = false, string? serverNonce = null)
{
    public const string Mechanism = "SCRAM-SHA-256";

    // What client-final's channel binding must be for each gs2 header we accept: "c=" base64(gs2-header) ",r=".
    private static ReadOnlySpan<byte> BindingPlain => "c=biws,r="u8;
    private static ReadOnlySpan<byte> BindingYes => "c=eSws,r="u8;

    private byte[] _clientFirstBare = [];
    private bool _clientCouldBind;   // gs2 header "y,,"
    private byte[] _serverFirst = [];
    private int _nonceLength;        // the nonce is server-first's first attribute: _serverFirst[2..2 + _nonceLength]

    private ReadOnlySpan<byte> Nonce => _serverFirst.AsSpan(2, _nonceLength);

    /// <summary>The ClientKey recovered from a valid proof (lets the pooler log in to PostgreSQL as the client).</summary>
    public byte[]? ClientKey { get; private set; }

    /// <summary>Client-first-message: gs2-header ("n,," or "y,,"; channel binding "p=" is refused), then n=, r=.</summary>
    public byte[] HandleClientFirst(ReadOnlySpan<byte> clientFirst)
    {
        if (clientFirst.StartsWith("p="u8))
            throw new ScramException("channel binding is not supported by the pooler");
        // gs2-header = ("n" / "y") "," [authzid] ","; like PostgreSQL we accept no authorization identity.
        if (!(clientFirst.StartsWith("n,,"u8) || clientFirst.StartsWith("y,,"u8)))
            throw new ScramException(clientFirst.StartsWith("n,a="u8) || clientFirst.StartsWith("y,a="u8)
                ? "client uses authorization identity, which is not supported"
                : "malformed SCRAM message (bad gs2 header)");
        _clientCouldBind = clientFirst[0] == (byte)'y';
        var bare = clientFirst[3..];
        var clientNonce = ScramAttributes.Find(bare, (byte)'r');
        if (clientNonce.IsEmpty)
            throw new ScramException("malformed SCRAM message (missing nonce)");
        _clientFirstBare = bare.ToArray();

        // server-first-message = "r=" client-nonce server-nonce ",s=" salt ",i=" iterations
        Span<byte> ownNonce = stackalloc byte[serverNonce is null ? ScramAttributes.NonceLength : Encoding.UTF8.GetByteCount(serverNonce)];
        var ownLength = serverNonce is null ? ScramAttributes.NewNonce(ownNonce) : Encoding.UTF8.GetBytes(serverNonce, ownNonce);
        var salt = secret.SaltBase64;
        Span<byte> iterations = stackalloc byte[11];
        System.Buffers.Text.Utf8Formatter.TryFormat(secret.Iterations, iterations, out var iterationsLength);
        _nonceLength = clientNonce.Length + ownLength;
        var serverFirst = new byte[2 + _nonceLength + 3 + salt.Length + 3 + iterationsLength];
        new SpanCursor(serverFirst).Put("r="u8).Put(clientNonce).Put(ownNonce[..ownLength]).Put(",s="u8)
            .Ascii(salt).Put(",i="u8).Put(iterations[..iterationsLength]);
        _serverFirst = serverFirst;
        return serverFirst;
    }

    /// <summary>Client-final-message: c=, r=, p=. Returns server-final-message, or null when the proof is wrong.</summary>
    public byte[]? HandleClientFinal(ReadOnlySpan<byte> clientFinal)
    {
        if (_serverFirst.Length == 0)
            throw new ScramException("client-final-message before client-first-message");
        var proofAt = clientFinal.LastIndexOf(",p="u8);
        if (proofAt < 0)
            throw new ScramException("malformed SCRAM message (missing proof)");
        var withoutProof = clientFinal[..proofAt];
        // channel-binding, then the nonce: exactly what the client-first promised.
        if (!withoutProof.StartsWith(_clientCouldBind ? BindingYes : BindingPlain))
            throw new ScramException("malformed SCRAM message (unexpected channel binding data)");
        if (!ScramAttributes.Find(withoutProof, (byte)'r').SequenceEqual(Nonce))
            throw new ScramException("malformed SCRAM message (nonce mismatch)");

        // Decoded into room for any proof it can hold (3 bytes per 4 characters): malformed is a protocol error,
        // well-formed but not 32 bytes is a wrong proof.
        var proofText = clientFinal[(proofAt + 3)..];
        var clientProof = proofText.Length <= 64 ? stackalloc byte[48] : new byte[proofText.Length];
        if (System.Buffers.Text.Base64.DecodeFromUtf8(proofText, clientProof, out var consumed, out var proofLength) != System.Buffers.OperationStatus.Done
            || consumed != proofText.Length)
            throw new ScramException("malformed SCRAM message (bad proof encoding)");
        if (proofLength != 32 || isMock)
            return null;

        // AuthMessage = client-first-bare "," server-first "," client-final-without-proof.
        var length = _clientFirstBare.Length + 1 + _serverFirst.Length + 1 + withoutProof.Length;
        var authMessage = length <= 1024 ? stackalloc byte[length] : new byte[length];
        new SpanCursor(authMessage).Put(_clientFirstBare).Put(","u8).Put(_serverFirst).Put(","u8).Put(withoutProof);

        Span<byte> signature = stackalloc byte[32];
        HmacSha256.HashData(secret.StoredKey, authMessage, signature);
        var clientKey = new byte[32];
        for (var i = 0; i < 32; i++)
            clientKey[i] = (byte)(clientProof[i] ^ signature[i]);
        Span<byte> storedKey = stackalloc byte[32];
        SHA256.HashData(clientKey, storedKey);
        if (!CryptographicOperations.FixedTimeEquals(storedKey, secret.StoredKey))
            return null;

        ClientKey = clientKey;
        HmacSha256.HashData(secret.ServerKey, authMessage, signature);
        var serverFinal = new byte[2 + 44]; // "v=" base64(32 bytes)
        "v="u8.CopyTo(serverFinal);
        System.Buffers.Text.Base64.EncodeToUtf8(signature, serverFinal.AsSpan(2), out _, out _);
        return serverFinal;
    }

    /// <summary>Appends to a span from the front; each call returns the cursor past what it wrote (chain them).</summary>
    private ref struct SpanCursor(Span<byte> destination)
    {
        private Span<byte> _rest = destination;

        public SpanCursor Put(scoped ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_rest);
            _rest = _rest[bytes.Length..];
            return this;
        }

        public SpanCursor Ascii(string text)
        {
            _rest = _rest[Encoding.ASCII.GetBytes(text, _rest)..];
            return this;
        }
    }

    /// <summary>A stable fake verifier for a user name that does not exist: same salt on every attempt (derived
    /// from a per-process key), so repeated probes cannot tell it from a real user.</summary>
    public static ScramServer Mock(string user, byte[] processKey)
    {
        var salt = HMACSHA256.HashData(processKey, Encoding.UTF8.GetBytes(user)).AsSpan(0, 16).ToArray();
        return new ScramServer(new ScramSecret(salt, ScramSecret.DefaultIterations, new byte[32], new byte[32]), isMock: true);
    }
}

public sealed class ScramException(string message) : Exception(message);
