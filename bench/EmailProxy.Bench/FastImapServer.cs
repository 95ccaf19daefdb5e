using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.Bench;

/// <summary>
/// A minimal, fast IMAP server over implicit TLS on 127.0.0.1 (port chosen by the system): the upstream of the
/// bench. It speaks just enough for the proxy and the direct client — CAPABILITY, AUTHENTICATE XOAUTH2 (with or
/// without SASL-IR), SELECT, FETCH n BODY[] (one preallocated message), NOOP, LOGOUT — with pre-rendered
/// answers and big writes, so that it is not what limits a figure.
/// </summary>
internal sealed class FastImapServer : IAsyncDisposable
{
    public const string PreAuthCapabilities = "IMAP4 IMAP4rev1 SASL-IR AUTH=XOAUTH2 ID LITERAL+";
    public const string Capabilities = "IMAP4 IMAP4rev1 ID UIDPLUS MOVE LITERAL+ IDLE CHILDREN";

    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<long, Task> _sessions = new();
    private long _nextId;
    private int _authentications;
    private int _openSessions;
    private Task _accepting = Task.CompletedTask;

    public FastImapServer(TestCertificates certificates, byte[] message, Func<string, string, bool> tokenIsValid)
    {
        Certificates = certificates;
        Message = message;
        TokenIsValid = tokenIsValid;
        Greeting = Encoding.ASCII.GetBytes($"* OK [CAPABILITY {PreAuthCapabilities}] Bench IMAP4rev1 server ready.\r\n");
        FetchHeader = Encoding.ASCII.GetBytes($"* 1 FETCH (BODY[] {{{message.Length}}}\r\n");
    }

    public TestCertificates Certificates { get; }

    /// <summary>The one message, served as the literal of every FETCH.</summary>
    public byte[] Message { get; }

    public Func<string, string, bool> TokenIsValid { get; }

    public byte[] Greeting { get; }

    public byte[] FetchHeader { get; }

    public int Port { get; private set; }

    /// <summary>Successful AUTHENTICATE XOAUTH2 so far.</summary>
    public int Authentications => Volatile.Read(ref _authentications);

    /// <summary>Connections currently open (TLS handshake included).</summary>
    public int OpenSessions => Volatile.Read(ref _openSessions);

    public CancellationToken Stopping => _stop.Token;

    public void Start()
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(4096);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        _accepting = AcceptAsync();
    }

    public void CountAuthentication() => Interlocked.Increment(ref _authentications);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        await Task.WhenAll(_sessions.Values).WaitAsync(TimeSpan.FromSeconds(30));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            socket.NoDelay = true;
            var id = Interlocked.Increment(ref _nextId);
            var session = RunSessionAsync(socket);
            _sessions[id] = session;
            _ = session.ContinueWith(_ => _sessions.TryRemove(id, out var _), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
    }

    private async Task RunSessionAsync(Socket socket)
    {
        Interlocked.Increment(ref _openSessions);
        try
        {
            // Off the accept loop at once: the handshake runs on the thread pool.
            await Task.Yield();
            await new FastImapSession(this, socket).RunAsync();
        }
        finally
        {
            Interlocked.Decrement(ref _openSessions);
        }
    }
}
