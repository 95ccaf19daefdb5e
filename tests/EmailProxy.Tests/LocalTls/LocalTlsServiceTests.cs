using System.IO.Pipelines;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using EmailProxy.Configuration;
using EmailProxy.LocalTls;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.LocalTls;

/// <summary>The TLS mechanism on its own: ClientHello sniffing, the handshake and its time limit, over in-memory pipes.</summary>
public sealed class LocalTlsServiceTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly LocalTlsService _tls;

    public LocalTlsServiceTests()
    {
        var config = new ProxyConfig(_temp.Combine("emailproxy.config"), new GeneralOptions(), new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>());
        var store = new LocalCertificateStore(config, _time, NullLogger<LocalCertificateStore>.Instance);
        _tls = new LocalTlsService(config, new LocalCertificateSelector(store, NullLogger<LocalCertificateSelector>.Instance), _time, NullLogger<LocalTlsService>.Instance);
        _tls.Prepare();
    }

    [Fact]
    public async Task UpgradeAsync_ClientNeverSpeaks_FailsAtTheHandshakeTimeout()
    {
        var (connection, _) = Connect();
        var upgrade = _tls.UpgradeAsync(connection, CancellationToken.None);
        Assert.False(upgrade.IsCompleted);

        _time.Advance(LocalTlsService.HandshakeTimeout);
        Assert.False(await upgrade.Guarded());
        Assert.Null(connection.Features.Get<LocalTlsFeature>());
    }

    [Fact]
    public async Task Sniff_SilentClient_IsPlaintextAfterTheClientHelloWait()
    {
        var (connection, _) = Connect();
        var reached = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var sniff = _tls.Sniff(c => { reached.SetResult(c.Features.Get<LocalTlsFeature>() is not null); return Task.CompletedTask; })(connection);
        Assert.False(reached.Task.IsCompleted);

        _time.Advance(LocalTlsService.ClientHelloWait);
        Assert.False(await reached.Task.Guarded());
        await sniff.Guarded();
    }

    [Fact]
    public async Task Sniff_PlaintextFirst_IsPlaintextAtOnceAndTheBytesStayUnread()
    {
        var (connection, client) = Connect();
        await client.Output.WriteAsync("a1 LOGIN u p\r\n"u8.ToArray());
        string? seen = null;
        await _tls.Sniff(async c =>
        {
            var result = await c.Transport.Input.ReadAsync();
            seen = Encoding.ASCII.GetString(result.Buffer.FirstSpan);
            c.Transport.Input.AdvanceTo(result.Buffer.End);
        })(connection).Guarded();
        Assert.Equal("a1 LOGIN u p\r\n", seen);
    }

    [Fact]
    public async Task Sniff_ClientHello_GetsImplicitTlsWithTheGeneratedCertificate()
    {
        var (connection, client) = Connect();
        var ca = X509CertificateLoader.LoadCertificateFromFile(_temp.Combine("tls", "ca.pem"));
        var tlsClient = new SslStream(new PipeStream(client), leaveInnerStreamOpen: false);
        var handshake = tlsClient.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0 && chain.Build(X509CertificateLoader.LoadCertificate(certificate!.GetRawCertData()));
            },
        });

        var sniff = _tls.Sniff(async c =>
        {
            Assert.NotNull(c.Features.Get<LocalTlsFeature>());
            await c.Transport.Output.WriteAsync("* OK under TLS\r\n"u8.ToArray());
        })(connection);
        await handshake.Guarded();
        var buffer = new byte[64];
        var read = await tlsClient.ReadAsync(buffer).AsTask().Guarded();
        Assert.Equal("* OK under TLS\r\n", Encoding.ASCII.GetString(buffer, 0, read));
        await sniff.Guarded();
    }

    public void Dispose() => _temp.Dispose();

    private static (DefaultConnectionContext Connection, IDuplexPipe Client) Connect()
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var connection = new DefaultConnectionContext("test", new Duplex(toServer.Reader, toClient.Writer), new Duplex(toClient.Reader, toServer.Writer));
        return (connection, connection.Application!);
    }

    private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
