using System.Formats.Asn1;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.LocalTls;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.LocalTls;

/// <summary>The generated CA and server certificate: made once, kept, renewed when they must be, and a CA never replaced silently.</summary>
public sealed class LocalCertificateStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    private string CaFile => _temp.Combine("tls", LocalCertificateStore.CaCertificateFile);
    private string ServerFile => _temp.Combine("tls", LocalCertificateStore.ServerCertificateFile);

    [Fact]
    public void LoadGenerated_FirstStart_MakesACaAndAServerCertificateForEveryNameWithPrivateKeys()
    {
        var store = Store("espocrm-proxy", "10.0.0.7");
        using var context = store.LoadGenerated().TargetCertificate;

        Assert.Equal(CaFile, store.CaPath);
        using var server = X509CertificateLoader.LoadCertificateFromFile(ServerFile);
        Assert.Equal(server.Thumbprint, context.Thumbprint);
        foreach (var name in new[] { "localhost", "127.0.0.1", "::1", "espocrm-proxy", "10.0.0.7" })
        {
            Assert.True(server.MatchesHostname(name), $"the certificate covers {name}");
        }
        using var ca = X509CertificateLoader.LoadCertificateFromFile(CaFile);
        Assert.Equal(ca.Subject, server.Issuer);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_temp.Combine("tls", LocalCertificateStore.CaKeyFile)));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_temp.Combine("tls", LocalCertificateStore.ServerKeyFile)));
        }
    }

    [Fact]
    public void LoadGenerated_FolderModes_NewFolderPrivateExistingOneLeftAsItIs()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var folder = _temp.Combine("tls");
        Store().LoadGenerated();
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(folder));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(CaFile));

        // An operator opened the folder so that the mail client's user can read ca.pem: the next start keeps it open.
        var opened = File.GetUnixFileMode(folder) | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;
        File.SetUnixFileMode(folder, opened);
        Store().LoadGenerated();
        Assert.Equal(opened, File.GetUnixFileMode(folder));
    }

    [Fact]
    public void LoadGenerated_NextStart_KeepsBothCertificates()
    {
        Store().LoadGenerated();
        var (ca, server) = (File.ReadAllBytes(CaFile), File.ReadAllBytes(ServerFile));

        Store().LoadGenerated();
        Assert.Equal(ca, File.ReadAllBytes(CaFile));
        Assert.Equal(server, File.ReadAllBytes(ServerFile));
    }

    [Fact]
    public void LoadGenerated_AfterACrashMidWrite_RemovesTheStaleTemporaryFilesAndKeepsThePair()
    {
        Store().LoadGenerated();
        var ca = File.ReadAllBytes(CaFile);
        var stale = _temp.Combine("tls", LocalCertificateStore.ServerKeyFile + ".0123456789abcdef.tmp");
        File.WriteAllText(stale, "half a key");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-1));

        Store().LoadGenerated();

        Assert.False(File.Exists(stale));
        Assert.Equal(ca, File.ReadAllBytes(CaFile));
    }

    [Fact]
    public void LoadGenerated_ANewName_RenewsTheServerCertificateButKeepsTheCa()
    {
        Store("espocrm-proxy").LoadGenerated();
        var ca = File.ReadAllBytes(CaFile);

        // Names the CA's constraints permit: a private address, a name under localhost.
        Store("espocrm-proxy", "192.168.7.7", "proxy.localhost").LoadGenerated();
        using var renewed = X509CertificateLoader.LoadCertificateFromFile(ServerFile);
        Assert.True(renewed.MatchesHostname("192.168.7.7"));
        Assert.True(renewed.MatchesHostname("proxy.localhost"));
        Assert.Equal(ca, File.ReadAllBytes(CaFile));
    }

    [Fact]
    public void LoadGenerated_FirstStart_EachIPv4AddressIsADnsNameTooAndTheCommonNameIs127001()
    {
        var log = new RecordingLoggerProvider();
        Store(log, "10.0.0.7").LoadGenerated();

        Assert.DoesNotContain(log.Entries, e => e.EventId.Name == "LocalCaWithoutDnsTwins");

        using var server = X509CertificateLoader.LoadCertificateFromFile(ServerFile);
        // What mbsync, fetchmail, c-client, s-nail and offlineimap compare a host with: DNS entries and the common name.
        Assert.Equal(["10.0.0.7", "127.0.0.1", "localhost"], DnsNames(server).Where(n => n is "localhost" or "127.0.0.1" or "10.0.0.7").Order(StringComparer.Ordinal));
        Assert.DoesNotContain("::1", DnsNames(server));
        Assert.Equal("127.0.0.1", server.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        Assert.True(server.MatchesHostname("127.0.0.1"), "the IP entry stays");
        using var ca = X509CertificateLoader.LoadCertificateFromFile(CaFile);
        Assert.True(ChainBuilds(ca, server), "the CA's name constraints permit the DNS twins");
    }

    [Fact]
    public void LoadGenerated_ServerCertificateWithoutDnsTwins_IsMadeAnewUnderTheSameCa()
    {
        Store().LoadGenerated();
        var ca = File.ReadAllBytes(CaFile);
        // A server certificate as the versions before DNS twins made it: CN=localhost, 127.0.0.1 only as an IP entry.
        using (var caPair = X509Certificate2.CreateFromPemFile(CaFile, _temp.Combine("tls", LocalCertificateStore.CaKeyFile)))
        {
            WriteServer(caPair, "CN=localhost, O=Email OAuth2 Proxy", "localhost", "127.0.0.1", "::1", HostIdentity.Name);
        }

        Store().LoadGenerated();

        Assert.Equal(ca, File.ReadAllBytes(CaFile));
        using var server = X509CertificateLoader.LoadCertificateFromFile(ServerFile);
        Assert.Contains("127.0.0.1", DnsNames(server));
        Assert.Equal("127.0.0.1", server.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
    }

    [Fact]
    public void LoadGenerated_CaWhoseConstraintsHaveNoDnsTwin_KeptAndTheServerNamed127001ByItsCommonNameOnly()
    {
        // A CA as the versions before DNS twins made it: DNS localhost and the host name, the private ranges as IP ranges.
        var folder = _temp.Combine("tls");
        Directory.CreateDirectory(folder);
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=Email OAuth2 Proxy local CA (old), O=Email OAuth2 Proxy", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(OldNameConstraints("localhost", HostIdentity.Name.ToLowerInvariant()));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            using var old = request.CreateSelfSigned(_time.GetUtcNow().AddDays(-1), _time.GetUtcNow().AddYears(10));
            File.WriteAllText(CaFile, old.ExportCertificatePem() + "\n");
            File.WriteAllText(_temp.Combine("tls", LocalCertificateStore.CaKeyFile), key.ExportPkcs8PrivateKeyPem() + "\n");
        }
        var caBytes = File.ReadAllBytes(CaFile);
        var log = new RecordingLoggerProvider();

        Store(log).LoadGenerated();

        Assert.Equal(caBytes, File.ReadAllBytes(CaFile));
        var said = Assert.Single(log.Entries, e => e.EventId.Name == "LocalCaWithoutDnsTwins");
        Assert.Equal(LogLevel.Information, said.Level);
        Assert.Contains("must connect by localhost", said.Message, StringComparison.Ordinal);
        Assert.Contains($"move the folder {folder} aside and restart", said.Message, StringComparison.Ordinal);
        using var server = X509CertificateLoader.LoadCertificateFromFile(ServerFile);
        Assert.DoesNotContain("127.0.0.1", DnsNames(server));
        Assert.Equal("127.0.0.1", server.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        using var ca = X509CertificateLoader.LoadCertificateFromFile(CaFile);
        Assert.True(ChainBuilds(ca, server), "a common name outside the DNS constraints is not judged while the certificate has a DNS entry");
        var next = File.ReadAllBytes(ServerFile);
        Store().LoadGenerated();
        Assert.Equal(next, File.ReadAllBytes(ServerFile));
    }

    [Fact]
    public void LoadGenerated_FirstStart_CaNamesTheProxyAndTheMachineAndCarriesCriticalNameConstraints()
    {
        Store("espocrm-proxy", "10.0.0.7", "203.0.113.5", "*.lan").LoadGenerated();

        using var ca = X509CertificateLoader.LoadCertificateFromFile(CaFile);
        Assert.Contains($"CN=Email OAuth2 Proxy local CA ({HostIdentity.Name})", ca.Subject, StringComparison.Ordinal);
        var extension = Assert.Single(ca.Extensions, e => e.Oid?.Value == "2.5.29.30");
        Assert.True(extension.Critical);
        var (dnsNames, ipRanges) = ReadPermittedSubtrees(extension.RawData);
        // Each IPv4 address is a DNS name too: the server certificate carries its DNS twin.
        Assert.Equal(
            new[] { "localhost", "127.0.0.1", "espocrm-proxy", "10.0.0.7", "203.0.113.5", "lan", HostIdentity.Name.ToLowerInvariant() }.Distinct().Order(StringComparer.Ordinal),
            dnsNames.Order(StringComparer.Ordinal));
        Assert.Equal(
            [
                "10.0.0.0/255.0.0.0", "127.0.0.0/255.0.0.0", "172.16.0.0/255.240.0.0", "192.168.0.0/255.255.0.0", "203.0.113.5/255.255.255.255",
                "::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fc00::/fe00::", "fe80::/ffc0::",
            ],
            ipRanges.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void LoadGenerated_LeafForANameOutsideTheConstraints_FailsChainValidationWhileLocalhostPasses()
    {
        Store().LoadGenerated();
        using var ca = X509Certificate2.CreateFromPemFile(CaFile, _temp.Combine("tls", LocalCertificateStore.CaKeyFile));

        Assert.True(ChainBuilds(ca, "localhost"));
        Assert.True(ChainBuilds(ca, "10.20.30.40"));
        Assert.False(ChainBuilds(ca, "mail.example.com"));
        Assert.False(ChainBuilds(ca, "8.8.8.8"));
    }

    [Fact]
    public void LoadGenerated_ANewNameOutsideTheCa_IsLoggedWithHowToMakeANewCaAndLeftOutOfTheCertificate()
    {
        Store("espocrm-proxy").LoadGenerated();
        var ca = File.ReadAllBytes(CaFile);
        var log = new RecordingLoggerProvider();

        Store(log, "espocrm-proxy", "mail.example.com").LoadGenerated();

        Assert.Equal(ca, File.ReadAllBytes(CaFile));
        using (var server = X509CertificateLoader.LoadCertificateFromFile(ServerFile))
        {
            Assert.True(server.MatchesHostname("espocrm-proxy"));
            Assert.False(server.MatchesHostname("mail.example.com"));
        }
        var warning = Assert.Single(log.Entries, e => e.EventId.Name == "LocalTlsNameOutsideCa");
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("mail.example.com", warning.Message, StringComparison.Ordinal);
        Assert.Contains($"move the folder {_temp.Combine("tls")} aside and restart", warning.Message, StringComparison.Ordinal);

        // The certificate made for the names inside serves the next start as it is.
        var server1 = File.ReadAllBytes(ServerFile);
        Store("espocrm-proxy", "mail.example.com").LoadGenerated();
        Assert.Equal(server1, File.ReadAllBytes(ServerFile));
    }

    [Fact]
    public void LoadGenerated_CaOfAnOlderVersionWithoutConstraints_IsKeptAndSaidAtStart()
    {
        var folder = _temp.Combine("tls");
        Directory.CreateDirectory(folder);
        using (var key = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=Email OAuth2 Proxy local CA (old), O=Email OAuth2 Proxy", key, HashAlgorithmName.SHA256);
            request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
            request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
            using var old = request.CreateSelfSigned(_time.GetUtcNow().AddDays(-1), _time.GetUtcNow().AddYears(10));
            File.WriteAllText(CaFile, old.ExportCertificatePem() + "\n");
            File.WriteAllText(_temp.Combine("tls", LocalCertificateStore.CaKeyFile), key.ExportPkcs8PrivateKeyPem() + "\n");
        }
        var ca = File.ReadAllBytes(CaFile);
        var log = new RecordingLoggerProvider();

        Store(log, "mail.example.com").LoadGenerated();

        Assert.Equal(ca, File.ReadAllBytes(CaFile));
        var warning = Assert.Single(log.Entries, e => e.EventId.Name == "LocalCaUnconstrained");
        Assert.Contains("has no name constraints", warning.Message, StringComparison.Ordinal);
        Assert.Contains($"move the folder {folder} aside and restart", warning.Message, StringComparison.Ordinal);
        using var server = X509CertificateLoader.LoadCertificateFromFile(ServerFile);
        Assert.True(server.MatchesHostname("mail.example.com"));
    }

    [Fact]
    public void LoadGenerated_ServerCertificateNearItsEnd_IsRenewedAndTheCaKept()
    {
        Store().LoadGenerated();
        var (ca, server) = (File.ReadAllBytes(CaFile), File.ReadAllBytes(ServerFile));

        _time.Advance(TimeSpan.FromDays(800)); // 25 of its 825 days left
        Store().LoadGenerated();
        Assert.Equal(ca, File.ReadAllBytes(CaFile));
        Assert.NotEqual(server, File.ReadAllBytes(ServerFile));
        using var renewed = X509CertificateLoader.LoadCertificateFromFile(ServerFile);
        Assert.True(renewed.NotAfter.ToUniversalTime() > _time.GetUtcNow().UtcDateTime.AddDays(800));
    }

    [Fact]
    public void LoadGenerated_CaMadeLessThanADayAgoElsewhere_ServerCertificateStartsNoEarlierThanTheCa()
    {
        // An operator's tls/ folder with a CA made a minute ago by openssl (or a clock set back): the proxy's own
        // server certificates start a day early, which a CA cannot sign for before its own start.
        var made = WriteCa(_time.GetUtcNow().AddMinutes(-1), _time.GetUtcNow().AddYears(10));

        Store().LoadGenerated();

        using var server = X509CertificateLoader.LoadCertificateFromFile(ServerFile);
        Assert.True(server.NotBefore.ToUniversalTime() >= made.UtcDateTime.AddSeconds(-1), $"{server.NotBefore:O} starts before the CA");
        using var ca = X509CertificateLoader.LoadCertificateFromFile(CaFile);
        Assert.True(ChainBuilds(ca, server));
    }

    [Fact]
    public void LoadGenerated_CaWithFewerDaysLeftThanAServerCertificateLives_ServerCertificateEndsWithTheCa()
    {
        var caEnd = _time.GetUtcNow().AddDays(400);
        WriteCa(_time.GetUtcNow().AddYears(-9), caEnd);

        Store().LoadGenerated();

        using var server = X509CertificateLoader.LoadCertificateFromFile(ServerFile);
        Assert.True(server.NotAfter.ToUniversalTime() <= caEnd.UtcDateTime, $"{server.NotAfter:O} outlives the CA");
        Assert.True(server.NotAfter.ToUniversalTime() > caEnd.UtcDateTime.AddDays(-1));
        var kept = File.ReadAllBytes(ServerFile);
        Store().LoadGenerated();
        Assert.Equal(kept, File.ReadAllBytes(ServerFile));
    }

    [Fact]
    public void LoadGenerated_CaNearItsEnd_IsReplacedWithAWarning()
    {
        Store().LoadGenerated();
        var ca = File.ReadAllBytes(CaFile);
        using (var made = X509CertificateLoader.LoadCertificateFromFile(CaFile))
        {
            _time.SetUtcNow(new DateTimeOffset(made.NotAfter.ToUniversalTime()).AddDays(-20));
        }
        var log = new RecordingLoggerProvider();

        Store(log).LoadGenerated();

        Assert.NotEqual(ca, File.ReadAllBytes(CaFile));
        var warning = Assert.Single(log.Entries, e => e.EventId.Name == "LocalCaReplacedNearItsEnd");
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains("must trust the new ca.pem", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadGenerated_UnusableCa_IsRefusedAndNeverReplaced()
    {
        Store().LoadGenerated();
        File.WriteAllText(_temp.Combine("tls", LocalCertificateStore.CaKeyFile), "not a key\n");
        var ca = File.ReadAllBytes(CaFile);

        var e = Assert.Throws<CryptographicException>(() => Store().LoadGenerated());
        Assert.Contains(CaFile, e.Message, StringComparison.Ordinal);
        Assert.Equal(ca, File.ReadAllBytes(CaFile));
    }

    [Fact]
    public void LoadConfigured_APair_IsReadFromTheConfiguredPathsAndNothingIsGenerated()
    {
        var made = Store();
        made.LoadGenerated();
        var config = Config(general => general with { LocalCertificate = made.CertificatePath, LocalKey = made.KeyPath });
        Directory.CreateDirectory(_temp.Combine("other"));
        var store = new LocalCertificateStore(config with { ConfigPath = _temp.Combine("other", "emailproxy.config") }, _time, NullLogger<LocalCertificateStore>.Instance);

        Assert.True(store.IsConfigured);
        Assert.Null(store.CaPath);
        using var certificate = store.LoadConfigured().TargetCertificate;
        using var expected = X509CertificateLoader.LoadCertificateFromFile(made.CertificatePath);
        Assert.Equal(expected.Thumbprint, certificate.Thumbprint);
        Assert.False(Directory.Exists(_temp.Combine("other", "tls")));
    }

    public void Dispose() => _temp.Dispose();

    private LocalCertificateStore Store(params string[] names) =>
        new(Config(general => general with { LocalTlsNames = names }), _time, NullLogger<LocalCertificateStore>.Instance);

    private LocalCertificateStore Store(RecordingLoggerProvider log, params string[] names) =>
        new(Config(general => general with { LocalTlsNames = names }), _time, log.CreateLogger<LocalCertificateStore>());

    /// <summary>Reads the permitted subtrees of a NameConstraints extension (RFC 5280 §4.2.1.10) independently of the proxy's code.</summary>
    private static (List<string> DnsNames, List<string> IpRanges) ReadPermittedSubtrees(byte[] der)
    {
        var (dnsNames, ipRanges) = (new List<string>(), new List<string>());
        var constraints = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        var permitted = constraints.ReadSequence(new Asn1Tag(TagClass.ContextSpecific, 0));
        Assert.False(constraints.HasData, "no excluded subtrees");
        while (permitted.HasData)
        {
            var subtree = permitted.ReadSequence();
            var tag = subtree.PeekTag();
            if (tag == new Asn1Tag(TagClass.ContextSpecific, 2))
            {
                dnsNames.Add(subtree.ReadCharacterString(UniversalTagNumber.IA5String, tag));
            }
            else
            {
                Assert.Equal(new Asn1Tag(TagClass.ContextSpecific, 7), tag);
                var value = subtree.ReadOctetString(tag);
                var half = value.Length / 2;
                ipRanges.Add($"{new IPAddress(value[..half])}/{new IPAddress(value[half..])}");
            }
            Assert.False(subtree.HasData, "no minimum or maximum");
        }
        return (dnsNames, ipRanges);
    }

    /// <summary>Whether a leaf for <paramref name="name"/>, signed by <paramref name="ca"/>, validates against it as the only trusted root.</summary>
    private bool ChainBuilds(X509Certificate2 ca, string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        // No CN: OpenSSL checks a host-like CN against the DNS constraints when there is no DNS name, as for an IP address here.
        var request = new CertificateRequest("O=Email OAuth2 Proxy test leaf", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        if (IPAddress.TryParse(name, out var address))
        {
            san.AddIpAddress(address);
        }
        else
        {
            san.AddDnsName(name);
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        using var leaf = request.Create(ca, _time.GetUtcNow().AddDays(-1), _time.GetUtcNow().AddDays(30), [1, 2, 3, 4]);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        return chain.Build(leaf);
    }

    /// <summary>Writes ca.pem and ca.key: a constrained CA valid from <paramref name="notBefore"/> to <paramref name="notAfter"/>; returns its start as written (whole seconds).</summary>
    private DateTimeOffset WriteCa(DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        Directory.CreateDirectory(_temp.Combine("tls"));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Email OAuth2 Proxy local CA (elsewhere), O=Email OAuth2 Proxy", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(OldNameConstraints("localhost", "127.0.0.1", HostIdentity.Name.ToLowerInvariant()));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        using var ca = request.CreateSelfSigned(notBefore, notAfter);
        File.WriteAllText(CaFile, ca.ExportCertificatePem() + "\n");
        File.WriteAllText(_temp.Combine("tls", LocalCertificateStore.CaKeyFile), key.ExportPkcs8PrivateKeyPem() + "\n");
        return new DateTimeOffset(ca.NotBefore.ToUniversalTime());
    }

    private static List<string> DnsNames(X509Certificate2 certificate) =>
        [.. certificate.Extensions.OfType<X509SubjectAlternativeNameExtension>().SelectMany(e => e.EnumerateDnsNames())];

    /// <summary>Whether <paramref name="leaf"/> validates against <paramref name="ca"/> as the only trusted root (OpenSSL judges the name constraints).</summary>
    private bool ChainBuilds(X509Certificate2 ca, X509Certificate2 leaf)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        return chain.Build(leaf);
    }

    /// <summary>Writes server.pem and server.key: a certificate for <paramref name="names"/> signed by <paramref name="ca"/>.</summary>
    private void WriteServer(X509Certificate2 ca, string subject, params string[] names)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var address))
            {
                san.AddIpAddress(address);
            }
            else
            {
                san.AddDnsName(name);
            }
        }
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var leaf = request.Create(ca, _time.GetUtcNow().AddDays(-1), _time.GetUtcNow().AddDays(400), [5, 6, 7, 8]);
        File.WriteAllText(_temp.Combine("tls", LocalCertificateStore.ServerKeyFile), key.ExportPkcs8PrivateKeyPem() + "\n");
        File.WriteAllText(ServerFile, leaf.ExportCertificatePem() + "\n");
    }

    /// <summary>Name constraints as the versions before DNS twins wrote them: the DNS names given, 127.0.0.0/8, ::1 and 10/8 as IP ranges.</summary>
    private static X509Extension OldNameConstraints(params string[] dnsNames)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            {
                foreach (var name in dnsNames)
                {
                    using (writer.PushSequence())
                    {
                        writer.WriteCharacterString(UniversalTagNumber.IA5String, name, new Asn1Tag(TagClass.ContextSpecific, 2));
                    }
                }
                foreach (var range in new byte[][] { [127, 0, 0, 0, 255, 0, 0, 0], [.. IPAddress.IPv6Loopback.GetAddressBytes(), .. Enumerable.Repeat((byte)0xFF, 16)], [10, 0, 0, 0, 255, 0, 0, 0] })
                {
                    using (writer.PushSequence())
                    {
                        writer.WriteOctetString(range, new Asn1Tag(TagClass.ContextSpecific, 7));
                    }
                }
            }
        }
        return new X509Extension("2.5.29.30", writer.Encode(), critical: true);
    }

    private ProxyConfig Config(Func<GeneralOptions, GeneralOptions> general) =>
        new(_temp.Combine("emailproxy.config"), general(new GeneralOptions()), new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>());
}
