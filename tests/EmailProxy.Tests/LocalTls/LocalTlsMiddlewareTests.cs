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

/// <summary>
/// The middleware in front of every mail port, over in-memory pipes: ClientHello sniffing (on a
/// fake clock), STARTTLS through its feature, and that it alone takes the TLS transport off again.
/// </summary>
public sealed class LocalTlsMiddlewareTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    [Fact]
    public async Task OnConnectionAsync_SilentClient_IsPlaintextAfterTheClientHelloWait()
    {
        var (connection, _) = SessionHarness.Connect();
        var reached = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = Middleware(c => { reached.SetResult(c.Features.Get<LocalTlsFeature>()!.IsTls); return Task.CompletedTask; }).OnConnectionAsync(connection);
        Assert.False(reached.Task.IsCompleted);

        _time.Advance(LocalTlsMiddleware.ClientHelloWait);
        Assert.False(await reached.Task.Guarded());
        await run.Guarded();
    }

    [Fact]
    public async Task OnConnectionAsync_PlaintextFirst_IsPlaintextAtOnceAndTheBytesStayUnread()
    {
        var (connection, client) = SessionHarness.Connect();
        await client.Output.WriteAsync("a1 LOGIN u p\r\n"u8.ToArray());
        string? seen = null;
        await Middleware(async c =>
        {
            var result = await c.Transport.Input.ReadAsync();
            seen = Encoding.ASCII.GetString(result.Buffer.FirstSpan);
            c.Transport.Input.AdvanceTo(result.Buffer.End);
        }).OnConnectionAsync(connection).Guarded();
        Assert.Equal("a1 LOGIN u p\r\n", seen);
    }

    [Fact]
    public async Task OnConnectionAsync_ClientHello_GetsImplicitTlsWithTheGeneratedCertificate()
    {
        var (connection, client) = SessionHarness.Connect();
        var middleware = Middleware(async c =>
        {
            var feature = c.Features.Get<LocalTlsFeature>()!;
            Assert.True(feature.IsTls);
            Assert.False(feature.CanStartTls);
            await c.Transport.Output.WriteAsync("* OK under TLS\r\n"u8.ToArray());
        });
        await using var tlsClient = new SslStream(new PipeStream(client), leaveInnerStreamOpen: false);
        var handshake = tlsClient.AuthenticateAsClientAsync(ClientOptions());

        var run = middleware.OnConnectionAsync(connection);
        await handshake.Guarded();
        Assert.Equal("* OK under TLS\r\n", await ReadAsync(tlsClient));
        await run.Guarded();
    }

    [Fact]
    public async Task OnConnectionAsync_HandlerThrowsUnderTls_RestoresTheTransportAndEndsTlsWithCloseNotify()
    {
        var (connection, client) = SessionHarness.Connect();
        var original = connection.Transport;
        var middleware = Middleware(c => c.Features.Get<LocalTlsFeature>()!.IsTls
            ? throw new InvalidOperationException("the session broke")
            : Task.CompletedTask);
        await using var tlsClient = new SslStream(new PipeStream(client), leaveInnerStreamOpen: false);
        var handshake = tlsClient.AuthenticateAsClientAsync(ClientOptions());

        var run = middleware.OnConnectionAsync(connection);
        await handshake.Guarded();
        await Assert.ThrowsAsync<InvalidOperationException>(() => run.Guarded());

        Assert.Same(original, connection.Transport);
        // close_notify: the client reads the end of the TLS session, while the socket's pipes stay open.
        Assert.Equal(0, await tlsClient.ReadAsync(new byte[16]).AsTask().Guarded());
    }

    [Fact]
    public async Task OnConnectionAsync_StartTlsThroughTheFeature_RunsUnderTlsAndTheMiddlewareTakesItOff()
    {
        var (connection, client) = SessionHarness.Connect();
        var original = connection.Transport;
        var middleware = Middleware(async c =>
        {
            var feature = c.Features.Get<LocalTlsFeature>()!;
            Assert.True(feature.CanStartTls);
            await c.Transport.Output.WriteAsync("220 Ready to start TLS\r\n"u8.ToArray());
            Assert.True(await feature.StartTlsAsync(CancellationToken.None));
            Assert.True(feature.IsTls);
            await c.Transport.Output.WriteAsync("250 under TLS\r\n"u8.ToArray());
        }, sniffImplicitTls: false);

        var run = middleware.OnConnectionAsync(connection);
        Assert.Equal("220 Ready to start TLS", await SessionHarness.ReadLineAsync(client.Input));
        await using var tlsClient = new SslStream(new PipeStream(client), leaveInnerStreamOpen: false);
        await tlsClient.AuthenticateAsClientAsync(ClientOptions()).Guarded();
        Assert.Equal("250 under TLS\r\n", await ReadAsync(tlsClient));
        await run.Guarded();

        Assert.Same(original, connection.Transport);
        Assert.Equal(0, await tlsClient.ReadAsync(new byte[16]).AsTask().Guarded());
    }

    [Fact]
    public async Task OnConnectionAsync_PortWithoutSniffing_PassesAClientHelloByteOnAsPlaintext()
    {
        var (connection, client) = SessionHarness.Connect();
        await client.Output.WriteAsync(new byte[] { 0x16, 0x03, 0x01 });
        byte? first = null;
        bool? isTls = null;
        await Middleware(async c =>
        {
            isTls = c.Features.Get<LocalTlsFeature>()!.IsTls;
            var result = await c.Transport.Input.ReadAsync();
            first = result.Buffer.FirstSpan[0];
            c.Transport.Input.AdvanceTo(result.Buffer.End);
        }, sniffImplicitTls: false).OnConnectionAsync(connection).Guarded();
        Assert.False(isTls);
        Assert.Equal((byte)0x16, first);
    }

    [Fact]
    public async Task OnConnectionAsync_FailedImplicitHandshake_NeverReachesTheHandler()
    {
        var (connection, client) = SessionHarness.Connect();
        await client.Output.WriteAsync(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff });
        await client.Output.CompleteAsync();
        var reached = false;
        await Middleware(_ => { reached = true; return Task.CompletedTask; }).OnConnectionAsync(connection).Guarded();
        Assert.False(reached);
    }

    [Fact]
    public async Task OnConnectionAsync_LocalTlsOff_SetsNoFeatureAndDoesNotSniff()
    {
        var (connection, _) = SessionHarness.Connect();
        var feature = new TaskCompletionSource<LocalTlsFeature?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = Middleware(c => { feature.SetResult(c.Features.Get<LocalTlsFeature>()); return Task.CompletedTask; }, localTlsOn: false).OnConnectionAsync(connection);
        Assert.Null(await feature.Task.Guarded());
        await run.Guarded();
        Assert.False(Directory.Exists(_temp.Combine("tls")));
    }

    public void Dispose() => _temp.Dispose();

    private LocalTlsMiddleware Middleware(ConnectionDelegate next, bool sniffImplicitTls = true, bool localTlsOn = true)
    {
        var config = new ProxyConfig(_temp.Combine("emailproxy.config"), localTlsOn ? new GeneralOptions() : new GeneralOptions { LocalTls = LocalTlsMode.Off }, new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>());
        var store = new LocalCertificateStore(config, _time, NullLogger<LocalCertificateStore>.Instance);
        var tls = new LocalTlsService(config, new LocalCertificateSelector(store, NullLogger<LocalCertificateSelector>.Instance), _time, NullLogger<LocalTlsService>.Instance);
        tls.Prepare();
        return new LocalTlsMiddleware(next, tls, sniffImplicitTls, _time);
    }

    /// <summary>A client that checks the name and trusts only the proxy's generated CA.</summary>
    private SslClientAuthenticationOptions ClientOptions()
    {
        var ca = X509CertificateLoader.LoadCertificateFromFile(_temp.Combine("tls", LocalCertificateStore.CaCertificateFile));
        return new SslClientAuthenticationOptions
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
        };
    }

    private static async Task<string> ReadAsync(SslStream tls)
    {
        var buffer = new byte[64];
        var read = await tls.ReadAsync(buffer).AsTask().Guarded();
        return Encoding.ASCII.GetString(buffer, 0, read);
    }
}
