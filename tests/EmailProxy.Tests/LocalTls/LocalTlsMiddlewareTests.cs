using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using EmailProxy.Configuration;
using EmailProxy.LocalTls;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.LocalTls;

/// <summary>
/// The middleware in front of every mail port, over in-memory pipes: each mode (auto's ClientHello
/// sniffing on a fake clock, starttls and off with no wait, implicit TLS from the first byte),
/// STARTTLS through its feature, and that it alone takes the TLS transport off again.
/// </summary>
public sealed class LocalTlsMiddlewareTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly RecordingLoggerProvider _log = new(LogLevel.Debug);
    private LocalTlsService? _tls;

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
    public async Task OnConnectionAsync_ClientHelloAsLateAsABusyMachinesPhpOrMbsync_StillGetsImplicitTls()
    {
        var (connection, client) = SessionHarness.Connect();
        var reached = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = Middleware(c => { reached.SetResult(c.Features.Get<LocalTlsFeature>()!.IsTls); return Task.CompletedTask; }).OnConnectionAsync(connection);
        // The slowest ClientHello measured with both cores busy (mbsync, 272 ms; PHP 235 ms), with a margin.
        _time.Advance(TimeSpan.FromMilliseconds(300));
        Assert.False(reached.Task.IsCompleted, "no plaintext greeting yet");
        await using var tlsClient = new SslStream(new PipeStream(client), leaveInnerStreamOpen: false);
        await tlsClient.AuthenticateAsClientAsync(ClientOptions()).Guarded();
        Assert.True(await reached.Task.Guarded());
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
        }, LocalTlsMode.StartTls);

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
    public async Task OnConnectionAsync_StartTlsMode_PassesAClientHelloByteOnAsPlaintext()
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
        }, LocalTlsMode.StartTls).OnConnectionAsync(connection).Guarded();
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
    public async Task OnConnectionAsync_LocalTlsOff_DoesNotSniffOfferOrMakeACertificate()
    {
        var (connection, _) = SessionHarness.Connect();
        var feature = new TaskCompletionSource<LocalTlsFeature?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = Middleware(c => { feature.SetResult(c.Features.Get<LocalTlsFeature>()); return Task.CompletedTask; }, LocalTlsMode.Off).OnConnectionAsync(connection);
        // No clock advanced: the handler is reached at once.
        var seen = await feature.Task.Guarded();
        await run.Guarded();
        Assert.Equal(LocalTlsMode.Off, seen!.Mode);
        Assert.False(seen.CanStartTls);
        Assert.False(seen.IsTls);
        await Assert.ThrowsAsync<InvalidOperationException>(() => seen.StartTlsAsync(CancellationToken.None));
        Assert.False(Directory.Exists(_temp.Combine("tls")));
    }

    [Theory]
    [InlineData("StartTls", true)]
    [InlineData("Off", false)]
    public async Task OnConnectionAsync_StartTlsOrOffMode_ReachesTheHandlerAtOnceInPlaintext(string modeName, bool offersStartTls)
    {
        var mode = Enum.Parse<LocalTlsMode>(modeName);
        var (connection, _) = SessionHarness.Connect();
        var reached = new TaskCompletionSource<LocalTlsFeature>(TaskCreationOptions.RunContinuationsAsynchronously);
        var run = Middleware(c => { reached.SetResult(c.Features.Get<LocalTlsFeature>()!); return Task.CompletedTask; }, mode).OnConnectionAsync(connection);
        var feature = await reached.Task.Guarded();
        await run.Guarded();
        Assert.False(feature.IsTls);
        Assert.Equal(offersStartTls, feature.CanStartTls);
    }

    [Fact]
    public async Task OnConnectionAsync_AutoMode_NeverOffersStartTls()
    {
        var (connection, client) = SessionHarness.Connect();
        await client.Output.WriteAsync("a1 CAPABILITY\r\n"u8.ToArray());
        LocalTlsFeature? feature = null;
        await Middleware(c => { feature = c.Features.Get<LocalTlsFeature>(); return Task.CompletedTask; }).OnConnectionAsync(connection).Guarded();
        Assert.Equal(LocalTlsMode.Auto, feature!.Mode);
        Assert.False(feature.IsTls);
        Assert.False(feature.CanStartTls);
    }

    [Fact]
    public async Task OnConnectionAsync_ImplicitMode_StartsTlsWithoutWaitingForTheFirstByte()
    {
        var (connection, client) = SessionHarness.Connect();
        var middleware = Middleware(async c =>
        {
            var feature = c.Features.Get<LocalTlsFeature>()!;
            Assert.True(feature.IsTls);
            Assert.False(feature.CanStartTls);
            await c.Transport.Output.WriteAsync("+OK under TLS\r\n"u8.ToArray());
        }, LocalTlsMode.Implicit);
        // The handshake starts before the client sent anything, and no clock is advanced.
        var run = middleware.OnConnectionAsync(connection);
        await using var tlsClient = new SslStream(new PipeStream(client), leaveInnerStreamOpen: false);
        await tlsClient.AuthenticateAsClientAsync(ClientOptions()).Guarded();
        Assert.Equal("+OK under TLS\r\n", await ReadAsync(tlsClient));
        await run.Guarded();
    }

    [Fact]
    public async Task OnConnectionAsync_ImplicitModePlaintextClient_NeverReachesTheHandlerAndLogsTheTimeout()
    {
        var (connection, _) = SessionHarness.Connect();
        connection.RemoteEndPoint = new IPEndPoint(IPAddress.Parse("192.0.2.7"), 40000);
        var reached = false;
        var run = Middleware(_ => { reached = true; return Task.CompletedTask; }, LocalTlsMode.Implicit).OnConnectionAsync(connection);
        _time.Advance(LocalTlsService.HandshakeTimeout);
        await run.Guarded();
        Assert.False(reached);
        var line = Assert.Single(_log.Entries, e => e.EventId.Id == 4101);
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Contains("192.0.2.7:40000", line.Message, StringComparison.Ordinal);
        Assert.Contains("no handshake within 10 seconds", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnConnectionAsync_FailedHandshakes_LoggedWithTheReasonOncePerAddressAndMinute()
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (attempt == 2)
            {
                _time.Advance(AddressMinuteGate.Interval);
            }
            var (connection, client) = SessionHarness.Connect();
            connection.RemoteEndPoint = new IPEndPoint(IPAddress.Parse("192.0.2.8"), 40000 + attempt);
            // A handshake record that is not a ClientHello.
            await client.Output.WriteAsync(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x05, 0xff, 0xff, 0xff, 0xff, 0xff });
            await client.Output.CompleteAsync();
            await Middleware(_ => Task.CompletedTask, LocalTlsMode.Implicit).OnConnectionAsync(connection).Guarded();
        }
        var lines = _log.Entries.Where(e => e.EventId.Id == 4101).ToList();
        Assert.Equal([LogLevel.Information, LogLevel.Debug, LogLevel.Information], lines.Select(l => l.Level));
        Assert.StartsWith("TLS handshake with client 192.0.2.8:40000 failed: ", lines[0].Message, StringComparison.Ordinal);
        Assert.StartsWith("TLS handshake with client 192.0.2.8:40002 failed: ", lines[2].Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("error:0A000418:SSL routines::tlsv1 alert unknown ca", "the client sent the TLS alert 'unknown ca': the client does not trust the proxy's certificate; install the CA")]
    [InlineData("error:0A000412:SSL routines::sslv3 alert bad certificate", "the client sent the TLS alert 'bad certificate': the client does not trust")]
    [InlineData("error:0A00042E:SSL routines::tlsv1 alert protocol version", "the client sent the TLS alert 'protocol version': the client offers no TLS version the proxy accepts (TLS 1.2 or later)")]
    [InlineData("error:0A000102:SSL routines::unsupported protocol", "the client offers only TLS versions older than 1.2, which the proxy refuses (error:0A000102:SSL routines::unsupported protocol); PHP's imap_open")]
    [InlineData("error:0A00010B:SSL routines::wrong version number", "the client did not start a TLS handshake (plaintext to a port where TLS starts at once?)")]
    [InlineData("error:0A0000C1:SSL routines::no shared cipher", "error:0A0000C1:SSL routines::no shared cipher")]
    public void DescribeFailure_OpenSslReason_NamesTheAlertAndTheFix(string openSsl, string expected)
    {
        var failure = new System.Security.Authentication.AuthenticationException("Authentication failed, see inner exception.",
            new InvalidOperationException("SSL Handshake failed with OpenSSL error - SSL_ERROR_SSL.", new InvalidOperationException(openSsl)));
        Assert.StartsWith(expected, LocalTlsService.DescribeFailure(failure), StringComparison.Ordinal);
    }

    [Fact]
    public void DescribeFailure_ClientClosedWithoutAnAlert_SaysSo()
    {
        var failure = new IOException("Received an unexpected EOF or 0 bytes from the transport stream.");
        var reason = LocalTlsService.DescribeFailure(failure);
        Assert.StartsWith("the client closed the connection during the handshake without a TLS alert the proxy could read (Received an unexpected EOF", reason, StringComparison.Ordinal);
        Assert.Contains("usually it does not trust the proxy's certificate; install the CA that issued it", reason, StringComparison.Ordinal);
    }

    public void Dispose() => _temp.Dispose();

    private LocalTlsMiddleware Middleware(ConnectionDelegate next, LocalTlsMode mode = LocalTlsMode.Auto)
    {
        var config = new ProxyConfig(_temp.Combine("emailproxy.config"), new GeneralOptions { LocalTls = mode }, new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>());
        var store = new LocalCertificateStore(config, _time, NullLogger<LocalCertificateStore>.Instance);
        // One service for the test's connections, as one serves the whole proxy: its notices are per address and minute.
        var tls = _tls ??= new LocalTlsService(config, new LocalCertificateSelector(store, NullLogger<LocalCertificateSelector>.Instance), _time, _log.CreateLogger<LocalTlsService>());
        tls.Prepare();
        return new LocalTlsMiddleware(next, tls, mode, _time);
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
