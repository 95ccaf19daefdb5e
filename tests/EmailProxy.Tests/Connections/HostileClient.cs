using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Text;
using EmailProxy.Connections;
using EmailProxy.Imap;
using EmailProxy.Pop3;
using EmailProxy.Smtp;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Connections;

/// <summary>
/// A hostile client of one real session over in-memory pipes, on a fake clock, with the session's
/// log recorded: it writes what it likes, and sees what the session answered once it ended.
/// </summary>
internal sealed class HostileClient : IAsyncDisposable
{
    public static readonly IPAddress Address = IPAddress.Parse("10.0.0.5");

    private readonly TempDirectory _temp;
    private readonly DefaultConnectionContext _connection;
    private readonly IDuplexPipe _client;
    private readonly SessionEnvironment _environment;
    private readonly bool _ownsEnvironment;

    private HostileClient(string protocol, TempDirectory temp, FakeTimeProvider time, RecordingLoggerProvider log, SessionEnvironment? environment, PipeOptions? options)
    {
        _temp = temp;
        Time = time;
        Log = log;
        options ??= new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0);
        var toServer = new Pipe(options);
        var toClient = new Pipe(options);
        _connection = new DefaultConnectionContext("hostile", new Duplex(toServer.Reader, toClient.Writer), new Duplex(toClient.Reader, toServer.Writer))
        {
            RemoteEndPoint = new IPEndPoint(Address, 50000),
        };
        _client = _connection.Application!;
        _ownsEnvironment = environment is null;
        _environment = environment ?? new SessionHarness(temp.Path, time).Environment();
        var logger = log.CreateLogger("session");
        MailSession session = protocol switch
        {
            "IMAP" => new ImapSession(_connection, _environment, SessionHarness.Imap(time), logger),
            "SMTP" => new SmtpSession(_connection, _environment, SessionHarness.Smtp(time), logger),
            _ => new Pop3Session(_connection, _environment, SessionHarness.Pop3(time), logger),
        };
        Session = session.RunAsync();
    }

    public FakeTimeProvider Time { get; }

    public RecordingLoggerProvider Log { get; }

    /// <summary>The session's run; it completes when the session ended, whatever the client did.</summary>
    public Task Session { get; }

    public PipeReader Input => _client.Input;

    /// <param name="protocol"><c>IMAP</c>, <c>SMTP</c> or <c>POP3</c>.</param>
    /// <param name="options">The pipes' options (back-pressure for a client that does not read); none by default.</param>
    public static HostileClient Start(string protocol, PipeOptions? options = null) =>
        new(protocol, new TempDirectory(), new FakeTimeProvider(DateTimeOffset.Parse("2026-11-24T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture)),
            new RecordingLoggerProvider(), null, options);

    /// <summary>One more client of the same environment, clock and log (the same address).</summary>
    public HostileClient Another(string protocol) => new(protocol, new TempDirectory(), Time, Log, _environment, null);

    public async Task SendAsync(string text) => await SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes) => await _client.Output.WriteAsync(bytes);

    public Task<string> LineAsync() => SessionHarness.ReadLineAsync(_client.Input);

    /// <summary>
    /// Waits for the session to end on its own (the client keeps its side open), then returns
    /// every line it wrote (the ones not read yet), and its raw bytes.
    /// </summary>
    public async Task<(IReadOnlyList<string> Lines, string Raw)> EndedAsync()
    {
        await Session.Guarded();
        await _connection.Transport.Output.CompleteAsync();
        var raw = new List<byte>();
        while (true)
        {
            var result = await _client.Input.ReadAsync();
            raw.AddRange(result.Buffer.ToArray());
            _client.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }
        var text = Encoding.UTF8.GetString([.. raw]);
        return ([.. text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries)], text);
    }

    /// <summary>The recorded entries of one event (by its name).</summary>
    public IReadOnlyList<RecordedLog> Events(string name) => [.. Log.Entries.Where(e => e.EventId.Name == name)];

    /// <summary>The result the session's SessionEnded line gave.</summary>
    public string Result => Assert.Single(Events("SessionEnded")).Message;

    public async ValueTask DisposeAsync()
    {
        await _client.Output.CompleteAsync();
        if (_ownsEnvironment)
        {
            _environment.Dispose();
        }
        _temp.Dispose();
    }

    private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
