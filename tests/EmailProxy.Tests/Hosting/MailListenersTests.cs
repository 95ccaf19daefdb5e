using System.Net;
using System.Net.Sockets;
using System.Text;
using EmailProxy.Hosting;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Hosting;

/// <summary>
/// Mail listeners on their own Kestrel servers, on real loopback ports: a taken port leaves only its
/// listener unbound (the others serve), it is tried again every <see cref="MailListeners.RetryInterval"/>
/// by a fake clock, logged once, and binds once the port is free.
/// </summary>
public sealed class MailListenersTests : IAsyncDisposable
{
    private readonly FakeTimeProvider _time = new();
    private readonly RecordingLoggerProvider _log = new();
    private readonly ServiceProvider _services = new ServiceCollection().BuildServiceProvider();
    private readonly List<IAsyncDisposable> _owned = [];

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }
        await _services.DisposeAsync();
        _log.Dispose();
    }

    /// <summary>A listener whose connections get one line naming it, then are closed.</summary>
    private MailListener Listener(string protocol, IPEndPoint endPoint) =>
        new(protocol, endPoint, listen => listen.Run(async connection =>
            {
                await connection.Transport.Output.WriteAsync(Encoding.ASCII.GetBytes($"{protocol} here\r\n"));
                await connection.Transport.Output.CompleteAsync();
            }),
            _services, new SocketTransportFactory(Options.Create(new SocketTransportOptions()), NullLoggerFactory.Instance), NullLoggerFactory.Instance);

    private MailListeners Start(params MailListener[] listeners)
    {
        var started = new MailListeners(listeners, _time, _log.CreateLogger<MailListeners>());
        _owned.Add(started);
        return started;
    }

    private static IPEndPoint FreeLoopback()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return (IPEndPoint)probe.LocalEndpoint;
    }

    private static async Task<string> GreetingAsync(IPEndPoint endPoint)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(endPoint).Guarded();
        using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
        return await reader.ReadLineAsync().Guarded() ?? "";
    }

    private int CannotListenLines => _log.Lines.Count(l => l.StartsWith("Cannot listen for", StringComparison.Ordinal));

    [Fact]
    public async Task StartedAsync_OnePortTaken_TheOtherServesAndTheTakenOneIsNamedOnce()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var takenEndPoint = (IPEndPoint)taken.LocalEndpoint;
        var imap = Listener("IMAP", FreeLoopback());
        var smtp = Listener("SMTP", takenEndPoint);
        var listeners = Start(imap, smtp);

        await listeners.StartedAsync(CancellationToken.None).Guarded();

        Assert.True(imap.IsBound);
        Assert.Equal("IMAP here", await GreetingAsync(imap.EndPoint));
        Assert.False(smtp.IsBound);
        Assert.Equal("the port is in use by another program", smtp.Problem);
        Assert.Contains($"Listening for IMAP on {imap.EndPoint}", _log.Lines);
        var warning = Assert.Single(_log.Entries, e => e.Level == LogLevel.Warning);
        Assert.StartsWith($"Cannot listen for SMTP on {takenEndPoint}: the port is in use by another program. Tried again every 5 s", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retry_PortFreedAfterTwoTries_BindsAtTheNextTryLoggingOnceEach()
    {
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var pop = Listener("POP", (IPEndPoint)taken.LocalEndpoint);
        var listeners = Start(pop);
        await listeners.StartedAsync(CancellationToken.None).Guarded();

        for (var i = 0; i < 2; i++)
        {
            var attempt = pop.NextAttempt;
            _time.Advance(MailListeners.RetryInterval);
            await attempt.Guarded();
            Assert.False(pop.IsBound);
        }
        taken.Stop();
        _time.Advance(MailListeners.RetryInterval);
        await pop.Bound.Guarded();
        await listeners.Retrying.Guarded();

        Assert.True(pop.IsBound);
        Assert.Null(pop.Problem);
        Assert.Equal("POP here", await GreetingAsync(pop.EndPoint));
        Assert.Equal(1, CannotListenLines);
        Assert.Single(_log.Lines, l => l == $"Listening for POP on {pop.EndPoint}");
    }

    [Fact]
    public async Task StartedAsync_AddressNotOnThisMachine_RetriedWithTheReason()
    {
        // 192.0.2.1 (TEST-NET-1) is never one of this machine's addresses.
        var imap = Listener("IMAP", new IPEndPoint(IPAddress.Parse("192.0.2.1"), 1993));
        var listeners = Start(imap);

        await listeners.StartedAsync(CancellationToken.None).Guarded();

        Assert.Equal("the address is not one of this machine's (yet)", imap.Problem);
        Assert.Equal(1, CannotListenLines);
        var attempt = imap.NextAttempt;
        _time.Advance(MailListeners.RetryInterval);
        await attempt.Guarded();
        Assert.False(imap.IsBound);
        Assert.False(listeners.Retrying.IsCompleted);
    }

    [Fact]
    public async Task StopAsync_BoundAndRetrying_FreesThePortAndEndsTheRetries()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var imap = Listener("IMAP", FreeLoopback());
        var smtp = Listener("SMTP", (IPEndPoint)taken.LocalEndpoint);
        var listeners = Start(imap, smtp);
        await listeners.StartedAsync(CancellationToken.None).Guarded();

        await listeners.StoppingAsync(CancellationToken.None).Guarded();
        await listeners.StopAsync(CancellationToken.None).Guarded();

        Assert.True(listeners.Retrying.IsCompletedSuccessfully);
        Assert.False(imap.IsBound);
        using var again = new TcpListener(imap.EndPoint);
        again.Start();
        taken.Stop();
        _time.Advance(MailListeners.RetryInterval);
        Assert.False(smtp.IsBound);
    }
}
