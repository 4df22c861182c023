// A throwaway certificate authority and a server certificate for localhost/127.0.0.1, as PEM files: the pooler's
// listen.tls certificate, and PostgreSQL's (ssl=on) for server_tls verify-full. ECDSA P-256: fast handshakes.
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Tuki.Pool.Pooler.IntegrationTests.Fixtures;

public sealed class TestCertificates
{
    private TestCertificates(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }
    public string CaFile => Path.Combine(Directory, "ca.pem");
    public string CertificateFile => Path.Combine(Directory, "server.pem");
    public string KeyFile => Path.Combine(Directory, "server.key");

    public static TestCertificates Create(string directory)
    {
        System.IO.Directory.CreateDirectory(directory);
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Tuki.Pool test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leaf = request.Create(ca, now.AddDays(-1), now.AddDays(30), RandomNumberGenerator.GetBytes(8));

        var certificates = new TestCertificates(directory);
        File.WriteAllText(certificates.CaFile, ca.ExportCertificatePem() + "\n");
        File.WriteAllText(certificates.CertificateFile, leaf.ExportCertificatePem() + "\n");
        File.WriteAllText(certificates.KeyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        if (!OperatingSystem.IsWindows())
            File.SetUnixFileMode(certificates.KeyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite); // PostgreSQL insists
        return certificates;
    }
}
