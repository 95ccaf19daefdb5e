using System.Net.Sockets;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// The smallest SMTP server Dovecot's submission service can relay to (<c>submission_relay_host</c>): plaintext on
/// 127.0.0.1, no authentication, accepts every sender and recipient, and keeps the DATA bytes of each message.
/// </summary>
internal sealed class SmtpSink : IAsyncDisposable
{
    private readonly FakeTcpListener _tcp;
    private readonly Lock _gate = new();
    private readonly List<SmtpSinkMessage> _messages = [];

    public SmtpSink()
    {
        _tcp = new FakeTcpListener(HandleAsync);
    }

    /// <summary>The port bound after <see cref="Start"/>.</summary>
    public int Port => _tcp.Port;

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

    public void Start() => _tcp.Start();

    /// <summary>Called by a session when a DATA ended: the message is kept before the 250 is sent.</summary>
    internal void Add(SmtpSinkMessage message)
    {
        lock (_gate)
        {
            _messages.Add(message);
        }
    }

    public ValueTask DisposeAsync() => _tcp.DisposeAsync();

    private async Task HandleAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using (client)
        {
            try
            {
                await using var connection = new FakeConnection(client.GetStream());
                await new SmtpSinkSession(this, connection).RunAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // Dovecot went away mid-session, or the sink is stopping: nothing to keep.
            }
        }
    }
}
