using EmailProxy.Configuration;
using EmailProxy.LocalTls;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.LocalTls;

/// <summary>The handshake every port shares, and whether a certificate is made at start.</summary>
public sealed class LocalTlsServiceTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    [Fact]
    public async Task HandshakeAsync_ClientNeverSpeaks_FailsAtTheHandshakeTimeout()
    {
        var tls = Service(localTlsOn: true);
        tls.Prepare();
        var (connection, _) = SessionHarness.Connect();
        var handshake = tls.HandshakeAsync(connection.Transport, null, CancellationToken.None);
        Assert.False(handshake.IsCompleted);

        _time.Advance(LocalTlsService.HandshakeTimeout);
        Assert.Null(await handshake.Guarded());
    }

    [Fact]
    public void Prepare_LocalTlsOn_MakesTheCertificateAtStart()
    {
        var tls = Service(localTlsOn: true);
        Assert.True(tls.Enabled);
        tls.Prepare();
        Assert.True(File.Exists(_temp.Combine("tls", LocalCertificateStore.CaCertificateFile)));
    }

    [Fact]
    public void Prepare_LocalTlsOff_MakesNoCertificate()
    {
        var tls = Service(localTlsOn: false);
        Assert.False(tls.Enabled);
        tls.Prepare();
        Assert.False(Directory.Exists(_temp.Combine("tls")));
    }

    public void Dispose() => _temp.Dispose();

    private LocalTlsService Service(bool localTlsOn)
    {
        var config = new ProxyConfig(_temp.Combine("emailproxy.config"), localTlsOn ? new GeneralOptions() : new GeneralOptions { LocalTls = LocalTlsMode.Off }, new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>());
        var store = new LocalCertificateStore(config, _time, NullLogger<LocalCertificateStore>.Instance);
        return new LocalTlsService(config, new LocalCertificateSelector(store, NullLogger<LocalCertificateSelector>.Instance), _time, NullLogger<LocalTlsService>.Instance);
    }
}
