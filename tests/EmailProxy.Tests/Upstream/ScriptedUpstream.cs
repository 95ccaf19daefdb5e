using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace EmailProxy.Tests.Upstream;

/// <summary>
/// A plaintext upstream on loopback that takes one connection, greets, and answers each line it reads with the
/// lines its script gives (none: no answer). It keeps every line it read, and <see cref="Closed"/> completes when
/// the proxy's side closes the connection.
/// </summary>
internal sealed class ScriptedUpstream : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentQueue<string> _received = new();
    private readonly CancellationTokenSource _stop = new();

    /// <param name="greeting">The server's first line.</param>
    /// <param name="script">The lines that answer a line the proxy sent.</param>
    public ScriptedUpstream(string greeting, Func<string, string[]> script)
    {
        _listener.Start();
        Closed = RunAsync(greeting, script, _stop.Token);
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    /// <summary>The lines the proxy sent, in order.</summary>
    public IReadOnlyList<string> Received => [.. _received];

    /// <summary>Completes when the proxy closed the connection.</summary>
    public Task Closed { get; }

    private async Task RunAsync(string greeting, Func<string, string[]> script, CancellationToken cancellationToken)
    {
        using var client = await _listener.AcceptTcpClientAsync(cancellationToken);
        await using var stream = client.GetStream();
        using var reader = new StreamReader(stream, Encoding.ASCII);
        await using var writer = new StreamWriter(stream, Encoding.ASCII) { NewLine = "\r\n", AutoFlush = true };
        await writer.WriteLineAsync(greeting.AsMemory(), cancellationToken);
        try
        {
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                _received.Enqueue(line);
                foreach (var answer in script(line))
                {
                    await writer.WriteLineAsync(answer.AsMemory(), cancellationToken);
                }
            }
        }
        catch (IOException)
        {
            // The proxy reset the connection: closed all the same.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        _listener.Dispose();
        try
        {
            await Closed;
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
            // Stopped before or while the proxy was connected.
        }
        _stop.Dispose();
    }
}
