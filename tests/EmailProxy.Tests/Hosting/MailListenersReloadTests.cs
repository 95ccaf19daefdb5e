using System.Net;
using System.Net.Sockets;
using System.Text;
using EmailProxy.Configuration;
using EmailProxy.Hosting;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Hosting;

/// <summary>
/// <see cref="MailListeners.ApplyAsync"/> on real loopback ports: only a listener whose address or TLS mode a
/// reload changes is rebound; the old one stops accepting while its open connections run on.
/// </summary>
public sealed class MailListenersReloadTests : IAsyncDisposable
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

    /// <summary>A listener that greets with its protocol and TLS mode, then echoes until the client closes.</summary>
    private MailListener? Create(MailListenerKind kind, GeneralOptions general)
    {
        if (general.ListenOf(kind) is not { } endPoint)
        {
            return null;
        }
        var greeting = $"{ListenerChange.NameOf(kind)} {LocalTlsModeNames.Of(general.TlsOf(kind))}\r\n";
        return new MailListener(ListenerChange.NameOf(kind), endPoint, listen => listen.Run(async connection =>
            {
                var (input, output) = (connection.Transport.Input, connection.Transport.Output);
                await output.WriteAsync(Encoding.ASCII.GetBytes(greeting));
                while (true)
                {
                    var read = await input.ReadAsync();
                    foreach (var segment in read.Buffer)
                    {
                        await output.WriteAsync(segment);
                    }
                    input.AdvanceTo(read.Buffer.End);
                    if (read.IsCompleted || read.IsCanceled)
                    {
                        return;
                    }
                }
            }),
            _services, new SocketTransportFactory(Options.Create(new SocketTransportOptions()), NullLoggerFactory.Instance), NullLoggerFactory.Instance)
        {
            Kind = kind,
            Tls = general.TlsOf(kind),
        };
    }

    private async Task<MailListeners> StartAsync(GeneralOptions general)
    {
        var listeners = new MailListeners(general, Create, _time, _log.CreateLogger<MailListeners>());
        _owned.Add(listeners);
        await listeners.StartedAsync(CancellationToken.None).Guarded();
        return listeners;
    }

    private static IPEndPoint FreeLoopback()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return (IPEndPoint)probe.LocalEndpoint;
    }

    private static GeneralOptions Imap(IPEndPoint imap, IPEndPoint? smtp = null) => new() { ImapListen = imap, SmtpListen = smtp, PopListen = null };

    /// <summary>An open connection: its greeting read, then one line echoed per call of <see cref="EchoAsync"/>.</summary>
    private sealed class Connection : IDisposable
    {
        private readonly TcpClient _client = new();
        private StreamReader? _reader;

        public string Greeting { get; private set; } = "";

        public static async Task<Connection> OpenAsync(IPEndPoint endPoint)
        {
            var connection = new Connection();
            await connection._client.ConnectAsync(endPoint).Guarded();
            connection._reader = new StreamReader(connection._client.GetStream(), Encoding.ASCII);
            connection.Greeting = await connection._reader.ReadLineAsync().Guarded() ?? "";
            return connection;
        }

        public async Task<string?> EchoAsync(string line)
        {
            await _client.GetStream().WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n")).AsTask().Guarded();
            return await _reader!.ReadLineAsync().Guarded();
        }

        public void Dispose()
        {
            _reader?.Dispose();
            _client.Dispose();
        }
    }

    [Fact]
    public async Task ApplyAsync_ImapMoved_NewAddressAcceptsOldRefusesOpenConnectionRunsOnOtherUntouched()
    {
        var (first, smtpAt, second) = (FreeLoopback(), FreeLoopback(), FreeLoopback());
        var listeners = await StartAsync(Imap(first, smtpAt));
        var smtp = listeners.Listeners.Single(l => l.Kind == MailListenerKind.Smtp);
        using var open = await Connection.OpenAsync(first);
        using var smtpOpen = await Connection.OpenAsync(smtpAt);

        await listeners.ApplyAsync(Imap(second, smtpAt), CancellationToken.None).Guarded();

        using (var moved = await Connection.OpenAsync(second))
        {
            Assert.Equal("IMAP auto", moved.Greeting);
        }
        await Assert.ThrowsAnyAsync<SocketException>(() => Connection.OpenAsync(first));
        Assert.Equal("still here", await open.EchoAsync("still here"));
        Assert.Equal("smtp too", await smtpOpen.EchoAsync("smtp too"));
        Assert.Same(smtp, listeners.Listeners.Single(l => l.Kind == MailListenerKind.Smtp));
        Assert.Equal([second], listeners.Listeners.Where(l => l.Kind == MailListenerKind.Imap).Select(l => l.EndPoint));
        Assert.Contains($"No longer accepting IMAP on {first} (the configuration moved it); sessions already open there run on until they end", _log.Lines);
        Assert.Contains($"Listening for IMAP on {second}", _log.Lines);
    }

    [Fact]
    public async Task ApplyAsync_TlsModeChanged_RebindsOnTheSamePortWhileTheOldConnectionRunsOn()
    {
        var port = FreeLoopback();
        var listeners = await StartAsync(Imap(port));
        var before = listeners.Listeners.Single();
        using var open = await Connection.OpenAsync(port);

        await listeners.ApplyAsync(Imap(port) with { ImapTls = LocalTlsMode.Implicit }, CancellationToken.None).Guarded();

        var after = listeners.Listeners.Single();
        Assert.NotSame(before, after);
        Assert.True(after.IsBound, after.Problem);
        using (var fresh = await Connection.OpenAsync(port))
        {
            Assert.Equal("IMAP implicit", fresh.Greeting);
        }
        Assert.Equal("IMAP auto", open.Greeting);
        Assert.Equal("old one", await open.EchoAsync("old one"));
    }

    [Fact]
    public async Task ApplyAsync_SameAddressAndMode_NothingRebound()
    {
        var port = FreeLoopback();
        var listeners = await StartAsync(Imap(port));
        var before = listeners.Listeners.Single();

        await listeners.ApplyAsync(Imap(port) with { WaitForAuthorization = TimeSpan.FromSeconds(9), PopTls = LocalTlsMode.Implicit }, CancellationToken.None).Guarded();

        Assert.Same(before, listeners.Listeners.Single());
        Assert.True(before.IsBound);
        Assert.Single(_log.Lines);
    }

    [Fact]
    public async Task ApplyAsync_TurnedOff_PortRefusesAndNoListenerIsLeft()
    {
        var (imap, smtp) = (FreeLoopback(), FreeLoopback());
        var listeners = await StartAsync(Imap(imap, smtp));

        await listeners.ApplyAsync(Imap(imap, smtp: null), CancellationToken.None).Guarded();

        await Assert.ThrowsAnyAsync<SocketException>(() => Connection.OpenAsync(smtp));
        Assert.Equal([MailListenerKind.Imap], listeners.Listeners.Select(l => l.Kind));
    }

    [Fact]
    public async Task ApplyAsync_NewPortTaken_ListedUnboundAndRetriedUntilFree()
    {
        var first = FreeLoopback();
        var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var second = (IPEndPoint)taken.LocalEndpoint;
        var listeners = await StartAsync(Imap(first));

        await listeners.ApplyAsync(Imap(second), CancellationToken.None).Guarded();

        var moved = listeners.Listeners.Single();
        Assert.Equal(second, moved.EndPoint);
        Assert.Equal("the port is in use by another program", moved.Problem);
        taken.Stop();
        _time.Advance(MailListeners.RetryInterval);
        await moved.Bound.Guarded();
        using var connection = await Connection.OpenAsync(second);
        Assert.Equal("IMAP auto", connection.Greeting);
    }

    [Fact]
    public async Task ApplyAsync_RetryingListenerMovedAgain_ItsRetryEndsAndTheOldAddressIsNeverBound()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var first = (IPEndPoint)taken.LocalEndpoint;
        var second = FreeLoopback();
        var listeners = await StartAsync(Imap(first));
        var retrying = listeners.Listeners.Single();

        await listeners.ApplyAsync(Imap(second), CancellationToken.None).Guarded();
        await listeners.Retrying.Guarded();

        Assert.False(retrying.IsBound);
        Assert.True(listeners.Listeners.Single().IsBound);
    }

    [Fact]
    public async Task StopAsync_AfterAMove_TheOldListenersConnectionsEndWithTheShutdown()
    {
        var (first, second) = (FreeLoopback(), FreeLoopback());
        var listeners = await StartAsync(Imap(first));
        using var open = await Connection.OpenAsync(first);
        await listeners.ApplyAsync(Imap(second), CancellationToken.None).Guarded();
        using var timeout = new CancellationTokenSource();
        await timeout.CancelAsync();

        await listeners.StoppingAsync(CancellationToken.None).Guarded();
        await listeners.StopAsync(timeout.Token).Guarded();

        // Aborted: the read ends, or the write is reset.
        try
        {
            Assert.Null(await open.EchoAsync("gone?"));
        }
        catch (IOException)
        {
        }
    }
}
