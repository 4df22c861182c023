// The pooler's TLS certificate (listen.tls), loaded from PEM files and reloaded when they change: a renewed
// certificate (cert-manager, certbot) applies to the next handshake, without a restart or even a config reload.
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tuki.Pool.Pooler.Transport;

public sealed class TlsCertificates
{
    private readonly Lock _sync = new();
    private (string Certificate, string Key, DateTime CertificateTime, DateTime KeyTime, SslStreamCertificateContext Context)? _current;

    /// <summary>The context for <paramref name="certificateFile"/>/<paramref name="keyFile"/>, loaded again when
    /// either file's modification time changed (a cheap stat per handshake).</summary>
    public SslStreamCertificateContext Get(string certificateFile, string keyFile)
    {
        var certificateTime = File.GetLastWriteTimeUtc(certificateFile);
        var keyTime = File.GetLastWriteTimeUtc(keyFile);
        lock (_sync)
        {
            if (_current is { } c && c.Certificate == certificateFile && c.Key == keyFile && c.CertificateTime == certificateTime && c.KeyTime == keyTime)
                return c.Context;
            var context = Load(certificateFile, keyFile);
            _current = (certificateFile, keyFile, certificateTime, keyTime, context);
            return context;
        }
    }

    /// <summary>Why the pair cannot be used, or null (for config validation: say it at load, not at a handshake).</summary>
    public static string? Problem(string certificateFile, string keyFile)
    {
        try
        {
            Load(certificateFile, keyFile);
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException or ArgumentException)
        {
            return $"cannot load the certificate {certificateFile} with key {keyFile}: {ex.Message}";
        }
    }

    private static SslStreamCertificateContext Load(string certificateFile, string keyFile)
    {
        // The first certificate of the file is the pooler's; any others are its chain, sent to clients.
        var certificate = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        var chain = new X509Certificate2Collection();
        chain.ImportFromPemFile(certificateFile);
        var intermediates = new X509Certificate2Collection();
        foreach (var extra in chain)
            if (extra.Thumbprint != certificate.Thumbprint)
                intermediates.Add(extra);
        return SslStreamCertificateContext.Create(certificate, intermediates, offline: true);
    }
}
