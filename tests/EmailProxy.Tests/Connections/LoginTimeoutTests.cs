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
        var session = new ImapSession(connection, Environment(), SessionHarness.Imap(), NullLogger.Instance).RunAsync();
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
        var session = new SmtpSession(connection, Environment(), SessionHarness.Smtp(), NullLogger.Instance).RunAsync();
        Assert.StartsWith("220 ", await ReadLineAsync(client.Input));

        _time.Advance(MailSession.LoginTimeout);
        Assert.Equal("421 4.4.2 No authentication within 60 seconds; closing", await ReadLineAsync(client.Input));
        await session.Guarded();
    }

    [Fact]
    public async Task Imap_ClientSendingOneByteASecond_IsClosedAtTheEndOfTheWindow()
    {
        var (connection, client) = Connect();
        var session = new ImapSession(connection, Environment(), SessionHarness.Imap(_time), NullLogger.Instance).RunAsync();
        await ReadLineAsync(client.Input);

        // A slow-loris client: a byte now and then keeps no window open; the 60 s are from the connect.
        var line = "a1 LOGIN someone@example.com password-that-never-ends";
        for (var second = 0; second < MailSession.LoginTimeout.TotalSeconds; second++)
        {
            Assert.False(session.IsCompleted);
            await WriteAsync(client.Output, line[second % line.Length].ToString());
            _time.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Equal("* BYE Autologout: no login within 60 seconds", await ReadLineAsync(client.Input));
        await session.Guarded();
    }

    public void Dispose() => _temp.Dispose();

    private SessionEnvironment Environment() => new SessionHarness(_temp.Path, _time).Environment();

    private static (ConnectionContext Connection, IDuplexPipe Client) Connect() => SessionHarness.Connect();

    private static Task WriteAsync(PipeWriter writer, string text) => SessionHarness.WriteAsync(writer, text);

    private static Task<string> ReadLineAsync(PipeReader reader) => SessionHarness.ReadLineAsync(reader);
}
