using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// The listening half of every fake server: a port on 127.0.0.1, an accept loop that runs each
/// connection's handler as its own task, and a stop that closes every open connection and waits
/// for the handlers to finish.
/// </summary>
internal sealed class FakeTcpListener(Func<TcpClient, CancellationToken, Task> handle) : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<TcpClient, Task> _sessions = new();
    private Task _acceptLoop = Task.CompletedTask;
    private int _connectionCount;
    private int _stopped;

    /// <summary>The port bound by <see cref="Start"/>.</summary>
    public int Port { get; private set; }

    public int ConnectionCount => Volatile.Read(ref _connectionCount);

    public void Start()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _acceptLoop = AcceptLoopAsync(_stopping.Token);
    }

    /// <summary>Stops accepting, closes every open connection, and waits for their handlers.</summary>
    public async Task StopAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }
        await _stopping.CancelAsync();
        _listener.Stop();
        foreach (var client in _sessions.Keys)
        {
            client.Dispose();
        }
        await Task.WhenAll([_acceptLoop, .. _sessions.Values]).WaitAsync(ObservableLog.DefaultTimeout);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _listener.Dispose();
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            Interlocked.Increment(ref _connectionCount);
            _sessions[client] = Task.Run(() => RunAsync(client, cancellationToken), CancellationToken.None);
        }
    }

    private async Task RunAsync(TcpClient client, CancellationToken cancellationToken)
    {
        try
        {
            await handle(client, cancellationToken);
        }
        finally
        {
            _sessions.TryRemove(client, out _);
        }
    }
}
