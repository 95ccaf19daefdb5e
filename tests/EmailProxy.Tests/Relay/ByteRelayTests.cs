using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using EmailProxy.LocalTls;
using EmailProxy.Relay;
using EmailProxy.Tests.TestSupport;
using EmailProxy.Upstream;

namespace EmailProxy.Tests.Relay;

/// <summary>The relay over in-memory pipes: the client's pipes as Kestrel hands them over, and an upstream connection over a pair of pipes.</summary>
public sealed class ByteRelayTests : IAsyncDisposable
{
    private static readonly byte[] Notice = Encoding.ASCII.GetBytes("* BYE Email OAuth2 Proxy is shutting down\r\n");

    private readonly Pipe _clientToProxy = new();
    private readonly Pipe _proxyToClient;
    private readonly Pipe _proxyToServer = new();
    private readonly Pipe _serverToProxy = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly UpstreamConnection _upstream;
    private readonly WriteCountingStream _upstreamStream;

    public ByteRelayTests() : this(new PipeOptions())
    {
    }

    private ByteRelayTests(PipeOptions clientOptions)
    {
        _proxyToClient = new Pipe(clientOptions);
        // The upstream's half-close is the end of what the server reads, as a socket's FIN is.
        _upstreamStream = new WriteCountingStream(new PipeStream(new Duplex(_serverToProxy.Reader, _proxyToServer.Writer)));
        _upstream = new UpstreamConnection(_upstreamStream, "upstream.test", 993,
            () => _proxyToServer.Writer.Complete());
    }

    private PipeWriter Client => _clientToProxy.Writer;
    private PipeReader ClientReceives => _proxyToClient.Reader;
    private PipeReader ServerReceives => _proxyToServer.Reader;
    private PipeWriter Server => _serverToProxy.Writer;

    private Task<RelayResult> Run() =>
        ByteRelay.RunAsync(new Duplex(_clientToProxy.Reader, _proxyToClient.Writer), _upstream, Notice, _stopping.Token);

    [Fact]
    public async Task RunAsync_WithAByteCounter_CountsEachDirectionAsTheResultDoes()
    {
        using var meters = new TestMeterFactory();
        var metrics = new EmailProxy.Diagnostics.ProxyMetrics(meters);
        using var recorder = new MetricRecorder(metrics.Meter);
        var relay = ByteRelay.RunAsync(new Duplex(_clientToProxy.Reader, _proxyToClient.Writer), _upstream, Notice, _stopping.Token, metrics.RelayBytes("IMAP"));
        await Client.WriteAsync("a1 NOOP\r\n"u8.ToArray());
        Assert.Equal("a1 NOOP\r\n", await ReadToEndAsync(ServerReceives, 9));
        await Server.WriteAsync("a1 OK NOOP completed\r\n"u8.ToArray());
        Assert.Equal("a1 OK NOOP completed\r\n", await ReadToEndAsync(ClientReceives, 22));

        await Client.CompleteAsync();
        Assert.Equal("", await ReadToEndAsync(ServerReceives));
        await Server.CompleteAsync();
        var result = await relay.Guarded();

        Assert.Equal(result.BytesFromClient, recorder.Sum("relay.bytes", ("protocol", "IMAP"), ("direction", "to_upstream")));
        Assert.Equal(result.BytesToClient, recorder.Sum("relay.bytes", ("protocol", "IMAP"), ("direction", "to_client")));
        Assert.Equal(9, result.BytesFromClient);
        Assert.Equal(22, result.BytesToClient);
    }

    [Fact]
    public async Task RunAsync_UpstreamIdle_WaitsWithAZeroByteReadAndNoClientBuffer()
    {
        var toClient = new GetMemoryCountingWriter(_proxyToClient.Writer);
        var relay = ByteRelay.RunAsync(new Duplex(_clientToProxy.Reader, toClient), _upstream, Notice, _stopping.Token);

        // An idle session holds no buffer of the client pipe while it waits for the upstream.
        Assert.Equal(0, await _upstreamStream.FirstRead.Task.Guarded());
        Assert.Equal(0, toClient.BuffersAsked);

        await Server.WriteAsync("* 1 EXISTS\r\n"u8.ToArray());
        Assert.Equal("* 1 EXISTS\r\n", await ReadToEndAsync(ClientReceives, 12));
        await Client.CompleteAsync();
        Assert.Equal("", await ReadToEndAsync(ServerReceives));
        await Server.CompleteAsync();
        Assert.Equal(12, (await relay.Guarded()).BytesToClient);
    }

    [Fact]
    public async Task RunAsync_WithADownObserver_ObserverSeesEveryDownByteInOrderAndTheClientGetsThemUnchanged()
    {
        // What the upstream sent right after the login sits in its reader already: the observer sees that too.
        await Server.WriteAsync("235 2.7.0 Authentication successful\r\n"u8.ToArray());
        var early = await _upstream.Reader.ReadAsync().AsTask().Guarded();
        _upstream.Reader.AdvanceTo(early.Buffer.Start);
        var seen = new List<byte>();
        var chunks = 0;
        var relay = ByteRelay.RunAsync(new Duplex(_clientToProxy.Reader, _proxyToClient.Writer), _upstream, Notice, _stopping.Token,
            observeDown: chunk => { seen.AddRange(chunk); chunks++; });
        var expected = new List<byte>("235 2.7.0 Authentication successful\r\n"u8.ToArray());
        var binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        foreach (var part in new[] { "550-5.7.60 first "u8.ToArray(), "line\r\n550 5.7.60 last\r\n"u8.ToArray(), binary })
        {
            await Server.WriteAsync(part);
            expected.AddRange(part);
        }
        await Server.CompleteAsync();

        var received = new List<byte>();
        while (true)
        {
            var read = await ClientReceives.ReadAsync().AsTask().Guarded();
            received.AddRange(read.Buffer.ToArray());
            ClientReceives.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted || received.Count >= expected.Count)
            {
                break;
            }
        }
        await Client.CompleteAsync();
        var result = await relay.Guarded();

        Assert.Equal(expected, received);
        Assert.Equal(expected, seen);
        Assert.True(chunks >= 2, "the buffered bytes and the later reads are each shown");
        Assert.Equal(expected.Count, result.BytesToClient);
    }

    [Fact]
    public async Task RunAsync_ClientCloses_EndsClientClosedAndPassesTheCloseOn()
    {
        var relay = Run();
        await Client.WriteAsync("a1 NOOP\r\n"u8.ToArray());
        Assert.Equal("a1 NOOP\r\n", await ReadToEndAsync(ServerReceives, "a1 NOOP\r\n".Length));

        await Client.CompleteAsync();
        // The server sees the end of the client's data, as after a FIN, and closes too.
        Assert.Equal("", await ReadToEndAsync(ServerReceives));
        await Server.CompleteAsync();

        var result = await relay.Guarded();
        Assert.Equal(RelayEnd.ClientClosed, result.End);
        Assert.Null(result.Error);
        Assert.Equal(9, result.BytesFromClient);
        Assert.Equal(0, result.BytesToClient);
        Assert.Equal("client: closed", result.Describe());
    }

    [Fact]
    public async Task RunAsync_ClientHalfClosesAfterItsCommands_ServerLastAnswersStillDelivered()
    {
        var relay = Run();
        // printf 'a1 LOGOUT\r\n' | nc -N: the commands, then the end of the client's sending side.
        await Client.WriteAsync("a1 LOGOUT\r\n"u8.ToArray());
        await Client.CompleteAsync();

        // The server answers only once it has seen the half-close: the relay must still be carrying answers.
        Assert.Equal("a1 LOGOUT\r\n", await ReadToEndAsync(ServerReceives));
        await Server.WriteAsync("* BYE logging out\r\na1 OK LOGOUT completed\r\n"u8.ToArray());
        await Server.CompleteAsync();

        var result = await relay.Guarded();
        Assert.Equal(RelayEnd.ClientClosed, result.End);
        await _proxyToClient.Writer.CompleteAsync();
        Assert.Equal("* BYE logging out\r\na1 OK LOGOUT completed\r\n", await ReadToEndAsync(ClientReceives));
    }

    [Fact]
    public async Task RunAsync_UpstreamCloses_EndsUpstreamClosedAfterDeliveringItsLastBytes()
    {
        var relay = Run();
        await Server.WriteAsync("* BYE server shutting down\r\n"u8.ToArray());
        await Server.CompleteAsync();

        var result = await relay.Guarded();
        Assert.Equal(RelayEnd.UpstreamClosed, result.End);
        Assert.Null(result.Error);
        Assert.Equal(28, result.BytesToClient);
        await _proxyToClient.Writer.CompleteAsync();
        Assert.Equal("* BYE server shutting down\r\n", await ReadToEndAsync(ClientReceives));
    }

    [Fact]
    public async Task RunAsync_UpstreamFails_EndsUpstreamFailedWithTheException()
    {
        var relay = Run();
        var reset = new IOException("Connection reset by peer");
        await Server.CompleteAsync(reset);

        var result = await relay.Guarded();
        Assert.Equal(RelayEnd.UpstreamFailed, result.End);
        Assert.Same(reset, result.Error);
        Assert.Equal("upstream: Connection reset by peer", result.Describe());
    }

    [Fact]
    public async Task RunAsync_ClientFails_EndsClientFailedWithTheException()
    {
        var relay = Run();
        var reset = new IOException("Connection reset by peer");
        await Client.CompleteAsync(reset);

        var result = await relay.Guarded();
        Assert.Equal(RelayEnd.ClientFailed, result.End);
        Assert.Same(reset, result.Error);
    }

    [Fact]
    public async Task RunAsync_ShutdownAfterACompleteLine_SendsTheNoticeAfterIt()
    {
        var relay = Run();
        await Server.WriteAsync("* 3 EXISTS\r\n"u8.ToArray());
        Assert.Equal("* 3 EXISTS\r\n", await ReadToEndAsync(ClientReceives, 12));

        await _stopping.CancelAsync();

        var result = await relay.Guarded();
        Assert.Equal(RelayEnd.ShuttingDown, result.End);
        await _proxyToClient.Writer.CompleteAsync();
        Assert.Equal(Encoding.ASCII.GetString(Notice), await ReadToEndAsync(ClientReceives));
    }

    [Fact]
    public async Task RunAsync_ShutdownInTheMiddleOfALine_SendsNoNotice()
    {
        var relay = Run();
        const string Partial = "* 1 FETCH (BODY[] {120}\r\nFrom: someone";
        await Server.WriteAsync(Encoding.ASCII.GetBytes(Partial));
        Assert.Equal(Partial, await ReadToEndAsync(ClientReceives, Partial.Length));

        await _stopping.CancelAsync();

        var result = await relay.Guarded();
        Assert.Equal(RelayEnd.ShuttingDown, result.End);
        await _proxyToClient.Writer.CompleteAsync();
        Assert.Equal("", await ReadToEndAsync(ClientReceives));
    }

    [Fact]
    public async Task RunAsync_SlowReader_EveryByteArrivesInOrderAndTheServerIsHeldBack()
    {
        // A client pipe that holds at most 4 KiB: the relay must wait for the reader, not buffer the whole message.
        await using var test = new ByteRelayTests(new PipeOptions(pauseWriterThreshold: 4096, resumeWriterThreshold: 2048));
        var message = new byte[1024 * 1024];
        new Random(7).NextBytes(message);
        var relay = test.Run();

        var send = Task.Run(async () =>
        {
            for (var offset = 0; offset < message.Length; offset += 7000)
            {
                await test.Server.WriteAsync(message.AsMemory(offset, Math.Min(7000, message.Length - offset)));
            }
            await test.Server.CompleteAsync();
        });

        var received = new List<byte>(message.Length);
        var heldBack = false;
        while (received.Count < message.Length)
        {
            var read = await test.ClientReceives.ReadAsync().AsTask().Guarded();
            // A slow reader: a few hundred bytes at a time.
            var take = read.Buffer.Slice(0, Math.Min(300, read.Buffer.Length));
            received.AddRange(take.ToArray());
            test.ClientReceives.AdvanceTo(take.End);
            heldBack |= received.Count < message.Length / 2 && !send.IsCompleted;
        }
        await send.Guarded();

        var result = await relay.Guarded();
        Assert.True(heldBack, "The server finished sending before the client had read half: nothing held it back.");
        Assert.Equal(RelayEnd.UpstreamClosed, result.End);
        Assert.Equal(message.Length, result.BytesToClient);
        Assert.Equal(message, received.ToArray());
    }

    [Fact]
    public async Task RunAsync_ClientDataInManyPipeSegments_GoesUpstreamInWritesOf16KiB()
    {
        // 64 KiB in one flush lands in the client pipe as sixteen 4 KiB segments (Kestrel's block size).
        var message = new byte[64 * 1024];
        new Random(3).NextBytes(message);
        Client.Write(message);
        var relay = Run();
        var write = Client.FlushAsync();

        var received = new List<byte>(message.Length);
        while (received.Count < message.Length)
        {
            var read = await ServerReceives.ReadAsync().AsTask().Guarded();
            received.AddRange(read.Buffer.ToArray());
            ServerReceives.AdvanceTo(read.Buffer.End);
        }
        await write.AsTask().Guarded();
        await Client.CompleteAsync();
        await Server.CompleteAsync();
        var result = await relay.Guarded();

        Assert.Equal(message, received.ToArray());
        Assert.Equal(message.Length, result.BytesFromClient);
        // One TLS record and one send per 16 KiB, not one per 4 KiB segment.
        Assert.Equal(4, _upstreamStream.Writes);
        Assert.Equal(16 * 1024, _upstreamStream.LargestWrite);
    }

    private static async Task<string> ReadToEndAsync(PipeReader reader, int? count = null)
    {
        var text = new StringBuilder();
        while (count is null || text.Length < count)
        {
            var read = await reader.ReadAsync().AsTask().Guarded();
            text.Append(Encoding.ASCII.GetString(read.Buffer));
            reader.AdvanceTo(read.Buffer.End);
            if (read.IsCompleted)
            {
                break;
            }
        }
        return text.ToString();
    }

    public async ValueTask DisposeAsync()
    {
        await _upstream.DisposeAsync();
        _stopping.Dispose();
    }

    private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
