using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.Configuration;
using EmailProxy.LocalTls;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.LocalTls;

/// <summary>The certificate each handshake gets: the generated one, or the configured pair read again when it changes.</summary>
public sealed class LocalCertificateSelectorTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly string _certificate;
    private readonly string _key;

    public LocalCertificateSelectorTests()
    {
        _certificate = _temp.Combine("proxy.crt");
        _key = _temp.Combine("proxy.key");
    }

    [Fact]
    public void Current_Generated_IsMadeAtTheFirstUseOnlyAndThenKept()
    {
        var selector = Selector(Config());
        Assert.False(Directory.Exists(_temp.Combine("tls")), "nothing is made before the first handshake (or Prepare)");

        var first = selector.Current;
        Assert.True(File.Exists(_temp.Combine("tls", LocalCertificateStore.CaCertificateFile)));
        Assert.Same(first, selector.Current);
    }

    [Fact]
    public void Current_ConfiguredPairChanged_IsReadAgainAtTheNextHandshake()
    {
        var firstThumbprint = MakePair("one");
        var selector = Selector(Config(_certificate, _key));
        Assert.Equal(firstThumbprint, selector.Current.TargetCertificate.Thumbprint);
        Assert.Same(selector.Current, selector.Current);

        var secondThumbprint = MakePair("two", TimeSpan.FromMinutes(1));
        Assert.NotEqual(firstThumbprint, secondThumbprint);
        Assert.Equal(secondThumbprint, selector.Current.TargetCertificate.Thumbprint);
        Assert.False(Directory.Exists(_temp.Combine("tls")), "a configured pair is never generated");
    }

    [Fact]
    public void Current_ConfiguredPairChangedToSomethingUnusable_KeepsThePreviousOne()
    {
        var thumbprint = MakePair("one");
        var selector = Selector(Config(_certificate, _key));
        Assert.Equal(thumbprint, selector.Current.TargetCertificate.Thumbprint);

        File.WriteAllText(_certificate, "half written\n");
        File.SetLastWriteTimeUtc(_certificate, File.GetLastWriteTimeUtc(_certificate).AddMinutes(1));
        Assert.Equal(thumbprint, selector.Current.TargetCertificate.Thumbprint);
    }

    [Fact]
    public void Current_ConfiguredPairUnusableAtStart_Throws()
    {
        File.WriteAllText(_certificate, "not a certificate\n");
        File.WriteAllText(_key, "not a key\n");
        var selector = Selector(Config(_certificate, _key));
        Assert.ThrowsAny<CryptographicException>(() => selector.Current);
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>Makes a generated pair in its own folder and copies it to the configured paths; its thumbprint.</summary>
    private string MakePair(string folder, TimeSpan? later = null)
    {
        var source = _temp.Combine(folder);
        Directory.CreateDirectory(source);
        var store = new LocalCertificateStore(new ProxyConfig(Path.Combine(source, "emailproxy.config"), new GeneralOptions(), new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>()),
            _time, NullLogger<LocalCertificateStore>.Instance);
        store.LoadGenerated();
        File.Copy(store.KeyPath, _key, overwrite: true);
        File.Copy(store.CertificatePath, _certificate, overwrite: true);
        if (later is { } offset)
        {
            // The file system's clock may not have moved between two copies in one test.
            File.SetLastWriteTimeUtc(_key, File.GetLastWriteTimeUtc(_key) + offset);
            File.SetLastWriteTimeUtc(_certificate, File.GetLastWriteTimeUtc(_certificate) + offset);
        }
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(_certificate);
        return certificate.Thumbprint;
    }

    private LocalCertificateSelector Selector(ProxyConfig config) =>
        new(new LocalCertificateStore(config, _time, NullLogger<LocalCertificateStore>.Instance), NullLogger<LocalCertificateSelector>.Instance);

    private ProxyConfig Config(string? certificate = null, string? key = null) =>
        new(_temp.Combine("emailproxy.config"), new GeneralOptions { LocalCertificate = certificate, LocalKey = key }, new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>());
}
