// TLS on an already connected pipe (the PostgreSQL protocol negotiates it in cleartext first: SSLRequest, 'S').
// The socket pipe is wrapped as a stream for SslStream, and the SslStream as a pipe again for the protocol code
// (in-box StreamPipeReader/Writer: no extra copy loop, and zero-byte reads so an idle TLS client holds no read
// buffer). One extra copy each way, paid only by TLS connections. TLS 1.2 and 1.3 only.
using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace Tuki.Pool.Pooler.Transport;

public static class Tls
{
    private const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>Server side of the handshake toward a client; returns the decrypted pipe.</summary>
    public static async Task<IDuplexPipe> AcceptAsync(IDuplexPipe raw, SslStreamCertificateContext certificate, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(new PipeStream(raw), leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = certificate,
                EnabledSslProtocols = Protocols,
                ClientCertificateRequired = false,
            }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return AsPipe(ssl, keepReading: false);
    }

    /// <summary>Client side of the handshake toward PostgreSQL, checking its certificate as libpq's sslmode does:
    /// require = encryption only; verify-ca = signed by a trusted root; verify-full = that, and the host name.</summary>
    public static async Task<IDuplexPipe> ConnectAsync(IDuplexPipe raw, string host, bool verifyChain, bool verifyName,
        X509Certificate2Collection? trustedRoots, CancellationToken cancellationToken)
    {
        var ssl = new SslStream(new PipeStream(raw), leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = host,
                EnabledSslProtocols = Protocols,
                RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                    Validate(certificate, errors, verifyChain, verifyName, trustedRoots),
            }, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await ssl.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return AsPipe(ssl, keepReading: true);
    }

    /// <summary>Toward clients the reader pulls from TLS only when the protocol code reads (zero-byte reads: an idle
    /// client holds no buffer). Toward PostgreSQL a loop keeps reading, as the socket pipe does, so an idle server's
    /// FATAL (pg_terminate_backend) or EOF is already in the pipe when the pool checks it before reuse.</summary>
    private static IDuplexPipe AsPipe(SslStream ssl, bool keepReading)
    {
        var writer = PipeWriter.Create(ssl, new StreamPipeWriterOptions(minimumBufferSize: 16 * 1024, leaveOpen: true));
        if (!keepReading)
            return new DuplexPipe(PipeReader.Create(ssl, new StreamPipeReaderOptions(bufferSize: 16 * 1024, minimumReadSize: 4096, leaveOpen: true, useZeroByteReads: true)), writer);
        var pipe = new Pipe(PipeSettings.Options);
        _ = KeepReadingAsync(ssl, pipe.Writer);
        return new DuplexPipe(pipe.Reader, writer);
    }

    private static async Task KeepReadingAsync(SslStream ssl, PipeWriter target)
    {
        Exception? error = null;
        try
        {
            while (true)
            {
                var read = await ssl.ReadAsync(target.GetMemory(4096)).ConfigureAwait(false);
                if (read == 0)
                    break;
                target.Advance(read);
                if ((await target.FlushAsync().ConfigureAwait(false)).IsCompleted)
                    break;
            }
        }
        catch (Exception ex)
        {
            error = ex; // surfaces to the protocol code's next read, as a socket error would
        }
        await target.CompleteAsync(error).ConfigureAwait(false);
    }

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    private static bool Validate(X509Certificate? certificate, SslPolicyErrors errors, bool verifyChain, bool verifyName, X509Certificate2Collection? trustedRoots)
    {
        if (!verifyChain)
            return true;
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0)
            return false;
        if (verifyName && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
            return false;
        if (trustedRoots is null)
            return (errors & SslPolicyErrors.RemoteCertificateChainErrors) == 0;
        // A CA file given: trust exactly those roots, not the system's.
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(trustedRoots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(new X509Certificate2(certificate));
    }
}
