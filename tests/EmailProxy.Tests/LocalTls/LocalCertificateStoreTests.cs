using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.Configuration;
using EmailProxy.LocalTls;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.LocalTls;

/// <summary>The generated CA and server certificate: made once, kept, renewed when they must be, and a CA never replaced silently.</summary>
public sealed class LocalCertificateStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    private string CaFile => _temp.Combine(LocalCertificateStore.FolderName, LocalCertificateStore.CaCertificateFile);
    private string ServerFile => _temp.Combine(LocalCertificateStore.FolderName, LocalCertificateStore.ServerCertificateFile);

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
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_temp.Combine(LocalCertificateStore.FolderName, LocalCertificateStore.CaKeyFile)));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_temp.Combine(LocalCertificateStore.FolderName, LocalCertificateStore.ServerKeyFile)));
        }
    }

    [Fact]
    public void LoadGenerated_FolderModes_NewFolderPrivateExistingOneLeftAsItIs()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var folder = _temp.Combine(LocalCertificateStore.FolderName);
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
        var stale = _temp.Combine(LocalCertificateStore.FolderName, LocalCertificateStore.ServerKeyFile + ".0123456789abcdef.tmp");
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

        Store("espocrm-proxy", "mail.internal").LoadGenerated();
        using var renewed = X509CertificateLoader.LoadCertificateFromFile(ServerFile);
        Assert.True(renewed.MatchesHostname("mail.internal"));
        Assert.Equal(ca, File.ReadAllBytes(CaFile));
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
    public void LoadGenerated_UnusableCa_IsRefusedAndNeverReplaced()
    {
        Store().LoadGenerated();
        File.WriteAllText(_temp.Combine(LocalCertificateStore.FolderName, LocalCertificateStore.CaKeyFile), "not a key\n");
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
        Assert.False(Directory.Exists(_temp.Combine("other", LocalCertificateStore.FolderName)));
    }

    public void Dispose() => _temp.Dispose();

    private LocalCertificateStore Store(params string[] names) =>
        new(Config(general => general with { LocalTlsNames = names }), _time, NullLogger<LocalCertificateStore>.Instance);

    private ProxyConfig Config(Func<GeneralOptions, GeneralOptions> general) =>
        new(_temp.Combine("emailproxy.config"), general(new GeneralOptions()), new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>());
}
