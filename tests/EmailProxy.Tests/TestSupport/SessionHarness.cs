using System.IO.Pipelines;
using System.Text;
using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Diagnostics;
using EmailProxy.Imap;
using EmailProxy.OAuth2;
using EmailProxy.Pop3;
using EmailProxy.Smtp;
using EmailProxy.TokenStore;
using EmailProxy.Upstream;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.TestSupport;

/// <summary>
/// Real sessions over in-memory pipes: a connection as Kestrel hands it to a handler, and the
/// shared session services with a configuration that has no account (a login is refused at once,
/// without any network).
/// </summary>
internal sealed class SessionHarness(string folder, TimeProvider time)
{
    /// <param name="metrics">Where the sessions count their sessions, logins and bytes; nowhere when null.</param>
    /// <param name="activity">Where the sessions record each account's logins for the status page; nowhere when null.</param>
    /// <param name="account">One account to configure, on a [server] with no host at all (its logins fail at once, without any network); none when null.</param>
    public SessionEnvironment Environment(ProxyMetrics? metrics = null, AccountActivity? activity = null, AccountOptions? account = null)
    {
        var servers = account is null ? new Dictionary<string, ServerOptions>() : new Dictionary<string, ServerOptions> { [account.ServerName] = new ServerOptions(account.ServerName) };
        var accounts = account is null ? new Dictionary<string, AccountOptions>() : new Dictionary<string, AccountOptions>(StringComparer.OrdinalIgnoreCase) { [account.Name] = account };
        var config = new ProxyConfig(Path.Combine(folder, "emailproxy.config"), new GeneralOptions { LocalTls = LocalTlsMode.Off }, servers, accounts);
        var client = new OAuthClient(new HttpClient(), time);
        var tokens = new TokenService(client, new TokenFileStore(Path.Combine(folder, "tokens"), MasterKey.FromBytes(new byte[32]), time, NullLogger<TokenFileStore>.Instance), time, NullLogger<TokenService>.Instance);
        var logins = new LoginService(new LiveConfig(config), new PasswordVerifier(), new LoginThrottle(time), tokens, new SignInManager(config, client, tokens, time, NullLogger<SignInManager>.Instance));
        return new SessionEnvironment(logins, new Lifetime(), time, metrics: metrics, activity: activity);
    }

    /// <summary>The IMAP protocol with a real upstream client whose connector runs on <paramref name="time"/> (the system clock by default).</summary>
    public static ImapProtocol Imap(TimeProvider? time = null) => new(new ImapUpstreamClient(new UpstreamConnector(time ?? TimeProvider.System)));

    public static SmtpProtocol Smtp(TimeProvider? time = null) => new(new SmtpUpstreamClient(new UpstreamConnector(time ?? TimeProvider.System)));

    public static Pop3Protocol Pop3(TimeProvider? time = null) => new(new Pop3UpstreamClient(new UpstreamConnector(time ?? TimeProvider.System)));

    /// <summary>A connection and the client's ends of its two pipes (no back-pressure, so a test may write everything first).</summary>
    public static (ConnectionContext Connection, IDuplexPipe Client) Connect()
    {
        var options = new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0);
        var toServer = new Pipe(options);
        var toClient = new Pipe(options);
        var connection = new DefaultConnectionContext("test", new Duplex(toServer.Reader, toClient.Writer), new Duplex(toClient.Reader, toServer.Writer));
        return (connection, connection.Application!);
    }

    public static async Task WriteAsync(PipeWriter writer, string text) => await writer.WriteAsync(Encoding.ASCII.GetBytes(text));

    public static async Task<string> ReadLineAsync(PipeReader reader)
    {
        var line = await PipeLines.ReadLineAsync(reader, 64 * 1024, CancellationToken.None).AsTask().Guarded();
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
