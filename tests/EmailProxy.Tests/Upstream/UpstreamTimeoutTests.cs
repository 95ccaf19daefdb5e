using System.Net;
using System.Net.Sockets;
using EmailProxy.Configuration;
using EmailProxy.Tests.Accounts;
using EmailProxy.Connections;
using EmailProxy.Tests.TestSupport;
using EmailProxy.Upstream;

namespace EmailProxy.Tests.Upstream;

/// <summary>An upstream that accepts the connection and then says nothing: every protocol gives up at the handshake limit, naming host:port.</summary>
public sealed class UpstreamTimeoutTests : IAsyncDisposable
{
    private readonly TcpListener _silent = new(IPAddress.Loopback, 0);
    private readonly List<TcpClient> _accepted = [];
    private readonly TimerWatchingTimeProvider _time = new();

    public UpstreamTimeoutTests() => _silent.Start();

    private int Port => ((IPEndPoint)_silent.LocalEndpoint).Port;

    [Theory]
    [InlineData("IMAP")]
    [InlineData("SMTP")]
    [InlineData("POP3")]
    public async Task LoginAsync_UpstreamNeverGreets_UnavailableAtTheHandshakeLimit(string protocol)
    {
        var server = new ServerOptions("silent") { ImapHost = "127.0.0.1", ImapPort = Port, SmtpHost = "127.0.0.1", SmtpPort = Port, PopHost = "127.0.0.1", PopPort = Port, Ssl = false, StartTls = false };
        MailProtocol descriptor = protocol switch
        {
            "IMAP" => SessionHarness.Imap(_time),
            "SMTP" => SessionHarness.Smtp(_time),
            _ => SessionHarness.Pop3(_time),
        };
        var login = descriptor.LoginUpstreamAsync(server, "user@example.com", "token", CancellationToken.None);
        _accepted.Add(await _silent.AcceptTcpClientAsync().Guarded());
        // The server's accept can complete before the client's connect has returned: only once the connect's own
        // 15-second timer is gone (the handshake's alone is left) does the wait for the greeting run.
        await _time.WhenTimersCreatedAsync(2);
        await _time.WhenLiveTimersAtMostAsync(1);
        Assert.False(login.IsCompleted);

        _time.Advance(UpstreamConnector.HandshakeTimeout);
        var result = await login.Guarded();
        Assert.False(result.Succeeded);
        Assert.Equal($"127.0.0.1:{Port} did not answer within 30 seconds", result.UnavailableReason);
    }

    public ValueTask DisposeAsync()
    {
        foreach (var client in _accepted)
        {
            client.Dispose();
        }
        _silent.Stop();
        _silent.Dispose();
        return ValueTask.CompletedTask;
    }
}
