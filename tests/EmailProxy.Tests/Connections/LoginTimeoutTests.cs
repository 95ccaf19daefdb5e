using System.IO.Pipelines;
using System.Text;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Imap;
using EmailProxy.LocalTls;
using EmailProxy.OAuth2;
using EmailProxy.Smtp;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using EmailProxy.Upstream;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Connections;

/// <summary>The 60-second window to log in, driven by a fake clock: a client that never logs in is told so and closed.</summary>
public sealed class LoginTimeoutTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-24T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public async Task Imap_NoLoginWithinTheWindow_ByeAndClosed()
    {
        var (connection, client) = Connect();
        var session = new ImapSession(connection, Environment(), new ImapUpstreamClient(new UpstreamConnector()), NullLogger.Instance).RunAsync();
        Assert.StartsWith("* OK [CAPABILITY", await ReadLineAsync(client.Input));

        _time.Advance(MailSession.LoginTimeout - TimeSpan.FromSeconds(1));
        await WriteAsync(client.Output, "a1 NOOP\r\n");
        Assert.Equal("a1 OK NOOP completed", await ReadLineAsync(client.Input));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("* BYE Autologout: no login within 60 seconds", await ReadLineAsync(client.Input));
        await session.Guarded();
    }

    [Fact]
    public async Task Smtp_NoAuthWithinTheWindow_421AndClosed()
    {
        var (connection, client) = Connect();
        var session = new SmtpSession(connection, Environment(), new SmtpUpstreamClient(new UpstreamConnector()), NullLogger.Instance).RunAsync();
        Assert.StartsWith("220 ", await ReadLineAsync(client.Input));

        _time.Advance(MailSession.LoginTimeout);
        Assert.Equal("421 4.4.2 No authentication within 60 seconds; closing", await ReadLineAsync(client.Input));
        await session.Guarded();
    }

    public void Dispose() => _temp.Dispose();

    private SessionEnvironment Environment()
    {
        var config = new ProxyConfig(_temp.Combine("emailproxy.config"), new GeneralOptions { LocalTls = "off" }, new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>());
        var client = new OAuthClient(new HttpClient(), _time);
        var tokens = new TokenService(client, new TokenFileStore(_temp.Combine("tokens"), MasterKey.FromBytes(new byte[32]), _time, NullLogger<TokenFileStore>.Instance), _time, NullLogger<TokenService>.Instance);
        var logins = new LoginService(config, new PasswordVerifier(), tokens, new SignInManager(config, client, tokens, _time, NullLogger<SignInManager>.Instance));
        var tls = new LocalTlsService(config, new ServiceCollection().BuildServiceProvider(), _time, NullLogger<LocalTlsService>.Instance);
        return new SessionEnvironment(logins, tls, new Lifetime(), _time);
    }

    /// <summary>A connection as Kestrel hands it to a handler, and the client's ends of its two pipes.</summary>
    private static (ConnectionContext Connection, IDuplexPipe Client) Connect()
    {
        var toServer = new Pipe();
        var toClient = new Pipe();
        var connection = new DefaultConnectionContext("test", new Duplex(toServer.Reader, toClient.Writer), new Duplex(toClient.Reader, toServer.Writer));
        return (connection, connection.Application!);
    }

    private static async Task WriteAsync(PipeWriter writer, string text) => await writer.WriteAsync(Encoding.ASCII.GetBytes(text));

    private static async Task<string> ReadLineAsync(PipeReader reader)
    {
        var line = await EmailProxy.Connections.PipeLines.ReadLineAsync(reader, 8192, CancellationToken.None).AsTask().Guarded();
        return Encoding.UTF8.GetString(line ?? throw new InvalidOperationException("The session closed the connection."));
    }

    private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;

    private sealed class Lifetime : IHostApplicationLifetime
    {
        public CancellationToken ApplicationStarted => CancellationToken.None;
        public CancellationToken ApplicationStopping => CancellationToken.None;
        public CancellationToken ApplicationStopped => CancellationToken.None;

        public void StopApplication()
        {
        }
    }
}
