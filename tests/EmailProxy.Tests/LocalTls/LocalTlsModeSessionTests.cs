using System.IO.Pipelines;
using System.Net;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.LocalTls;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.LocalTls;

/// <summary>
/// The real sessions behind the middleware, per mode: what IMAP's CAPABILITY, SMTP's EHLO and POP's
/// CAPA advertise, how STARTTLS/STLS is answered where it is not offered, and the warning for a
/// ClientHello that comes after a plaintext greeting (on a fake clock).
/// </summary>
public sealed class LocalTlsModeSessionTests : IDisposable
{
    private static readonly byte[] ClientHelloStart = [0x16, 0x03, 0x01, 0x00, 0x05];

    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly RecordingLoggerProvider _log = new(LogLevel.Debug);
    private LocalTlsService? _tls;

    public void Dispose() => _temp.Dispose();

    [Theory]
    [InlineData("Auto", false)]
    [InlineData("StartTls", true)]
    [InlineData("Off", false)]
    public async Task Imap_Mode_AdvertisesStartTlsOnlyInStartTlsMode(string modeName, bool offered)
    {
        var mode = Enum.Parse<LocalTlsMode>(modeName);
        var (client, run) = await Start(SessionHarness.Imap(_time), mode, "a1 CAPABILITY\r\n");
        var greeting = await SessionHarness.ReadLineAsync(client.Input);
        Assert.StartsWith("* OK [CAPABILITY IMAP4rev1", greeting, StringComparison.Ordinal);
        Assert.Equal(offered, greeting.Contains("STARTTLS", StringComparison.Ordinal));
        var capability = await SessionHarness.ReadLineAsync(client.Input);
        Assert.Equal(offered, capability.Contains(" STARTTLS", StringComparison.Ordinal));
        Assert.Equal("a1 OK CAPABILITY completed", await SessionHarness.ReadLineAsync(client.Input));
        if (!offered)
        {
            await SessionHarness.WriteAsync(client.Output, "a2 STARTTLS\r\n");
            Assert.Equal("a2 BAD STARTTLS is not available on this port", await SessionHarness.ReadLineAsync(client.Input));
        }
        await client.Output.CompleteAsync();
        await run.Guarded();
    }

    [Theory]
    [InlineData("Auto", false)]
    [InlineData("StartTls", true)]
    [InlineData("Off", false)]
    public async Task Smtp_Mode_AdvertisesStartTlsOnlyInStartTlsMode(string modeName, bool offered)
    {
        var mode = Enum.Parse<LocalTlsMode>(modeName);
        var (client, run) = await Start(SessionHarness.Smtp(_time), mode, "EHLO client\r\n");
        Assert.StartsWith("220 ", await SessionHarness.ReadLineAsync(client.Input), StringComparison.Ordinal);
        var ehlo = new List<string>();
        string line;
        do
        {
            line = await SessionHarness.ReadLineAsync(client.Input);
            ehlo.Add(line);
        }
        while (line.StartsWith("250-", StringComparison.Ordinal));
        Assert.Equal(offered, ehlo.Contains("250-STARTTLS"));
        Assert.Equal("250 AUTH PLAIN LOGIN", ehlo[^1]);
        if (!offered)
        {
            await SessionHarness.WriteAsync(client.Output, "STARTTLS\r\n");
            Assert.Equal("502 5.5.1 STARTTLS is not offered on this port", await SessionHarness.ReadLineAsync(client.Input));
        }
        await client.Output.CompleteAsync();
        await run.Guarded();
    }

    [Theory]
    [InlineData("Auto", false)]
    [InlineData("StartTls", true)]
    [InlineData("Off", false)]
    public async Task Pop3_Mode_AdvertisesStlsOnlyInStartTlsMode(string modeName, bool offered)
    {
        var mode = Enum.Parse<LocalTlsMode>(modeName);
        var (client, run) = await Start(SessionHarness.Pop3(_time), mode, "CAPA\r\n");
        Assert.StartsWith("+OK", await SessionHarness.ReadLineAsync(client.Input), StringComparison.Ordinal);
        var capabilities = new List<string>();
        string line;
        do
        {
            line = await SessionHarness.ReadLineAsync(client.Input);
            capabilities.Add(line);
        }
        while (line != ".");
        Assert.Equal(offered, capabilities.Contains("STLS"));
        if (!offered)
        {
            await SessionHarness.WriteAsync(client.Output, "STLS\r\n");
            Assert.Equal("-ERR STLS is not available on this port", await SessionHarness.ReadLineAsync(client.Input));
        }
        await client.Output.CompleteAsync();
        await run.Guarded();
    }

    [Fact]
    public async Task ClientHelloAfterTheAutoWait_ClosesAndWarnsOncePerAddressAndMinuteWithTheFix()
    {
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (attempt == 2)
            {
                _time.Advance(AddressMinuteGate.Interval);
            }
            var (client, run) = await Start(SessionHarness.Imap(_time), LocalTlsMode.Auto, null, new IPEndPoint(IPAddress.Parse("192.0.2.9"), 41000 + attempt));
            // A silent client: the greeting waits for the ClientHello that does not come in time.
            _time.Advance(LocalTlsMiddleware.ClientHelloWait);
            Assert.StartsWith("* OK [CAPABILITY", await SessionHarness.ReadLineAsync(client.Input), StringComparison.Ordinal);
            await client.Output.WriteAsync(ClientHelloStart);
            Assert.Equal("* BYE TLS handshake refused: it came after the plaintext greeting", await SessionHarness.ReadLineAsync(client.Input));
            await run.Guarded();
        }
        var warnings = _log.Entries.Where(e => e.EventId.Id == 4102).ToList();
        Assert.Equal([LogLevel.Warning, LogLevel.Debug, LogLevel.Warning], warnings.Select(w => w.Level));
        Assert.Equal(
            "IMAP client 192.0.2.9:41000 started a TLS handshake 1000 ms after connecting, after the plaintext greeting, and was closed: "
            + "imap_tls = auto waited 1000 ms for a ClientHello, got none and greeted in plaintext; "
            + "for a client that speaks TLS from the first byte set imap_tls = implicit (TLS only on this port), or set the client to plaintext (security None)",
            warnings[0].Message);
    }

    [Theory]
    [InlineData("StartTls", "smtp_tls = starttls greets in plaintext and offers STARTTLS; set the client to STARTTLS")]
    [InlineData("Off", "local TLS is off on this listener (smtp_tls = off); set the client to plaintext")]
    public async Task ClientHelloOnAPlaintextMode_IsRefusedAtOnceAndWarnsWithTheFix(string modeName, string expected)
    {
        var mode = Enum.Parse<LocalTlsMode>(modeName);
        var (client, run) = await Start(SessionHarness.Smtp(_time), mode, null);
        // No clock advanced: these modes greet at once.
        Assert.StartsWith("220 ", await SessionHarness.ReadLineAsync(client.Input), StringComparison.Ordinal);
        await client.Output.WriteAsync(ClientHelloStart);
        Assert.Equal("421 4.7.0 TLS handshake refused: this port starts in plaintext; closing", await SessionHarness.ReadLineAsync(client.Input));
        await run.Guarded();
        var warning = Assert.Single(_log.Entries, e => e.EventId.Id == 4102);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Contains(expected, warning.Message, StringComparison.Ordinal);
    }

    /// <summary>A session of <paramref name="protocol"/> behind the middleware in <paramref name="mode"/>; <paramref name="first"/> is sent before the greeting (a plaintext client's first bytes end auto's wait).</summary>
    private async Task<(IDuplexPipe Client, Task Run)> Start(MailProtocol protocol, LocalTlsMode mode, string? first, IPEndPoint? remote = null)
    {
        var (connection, client) = SessionHarness.Connect();
        connection.RemoteEndPoint = remote ?? new IPEndPoint(IPAddress.Loopback, 40000);
        if (first is not null)
        {
            await SessionHarness.WriteAsync(client.Output, first);
        }
        var config = new ProxyConfig(_temp.Combine("emailproxy.config"), new GeneralOptions { LocalTls = mode }, new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>());
        var store = new LocalCertificateStore(config, _time, NullLogger<LocalCertificateStore>.Instance);
        // One service for the test's sessions, as one serves the whole proxy: its notices are per address and minute.
        var tls = _tls ??= new LocalTlsService(config, new LocalCertificateSelector(store, NullLogger<LocalCertificateSelector>.Instance), _time, _log.CreateLogger<LocalTlsService>());
        var environment = new SessionHarness(_temp.Path, _time).Environment();
        var middleware = new LocalTlsMiddleware(c => protocol.NewSession(c, environment, NullLogger.Instance).RunAsync(), tls, mode, _time);
        return (client, middleware.OnConnectionAsync(connection));
    }
}
