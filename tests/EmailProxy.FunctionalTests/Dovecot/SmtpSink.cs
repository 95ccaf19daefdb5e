using System.Net;
using System.Net.Sockets;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// The smallest SMTP server Dovecot's submission service can relay to (<c>submission_relay_host</c>): plaintext on
/// 127.0.0.1, no authentication, accepts every sender and recipient, and keeps the DATA bytes of each message.
/// </summary>
internal sealed class SmtpSink : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<SmtpSinkMessage> _messages = [];
    private readonly List<Task> _sessions = [];
    private Task _accepting = Task.CompletedTask;

    /// <summary>The port bound after <see cref="Start"/>.</summary>
    public int Port { get; private set; }

    /// <summary>Every message taken so far, in order.</summary>
    public IReadOnlyList<SmtpSinkMessage> Messages
    {
        get
        {
            lock (_gate)
            {
                return [.. _messages];
            }
        }
    }

    public void Start()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync(_stop.Token);
    }

    /// <summary>Called by a session when a DATA ended: the message is kept before the 250 is sent.</summary>
    internal void Add(SmtpSinkMessage message)
    {
        lock (_gate)
        {
            _messages.Add(message);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] sessions;
        lock (_gate)
        {
            sessions = [.. _sessions];
        }

        await Task.WhenAll(sessions);
        _stop.Dispose();
    }

    private async Task AcceptAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (SocketException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }

            var session = new SmtpSinkSession(this, client);
            lock (_gate)
            {
                _sessions.Add(session.RunAsync(cancellationToken));
            }
        }
    }
}
