using System.IO.Pipelines;
using EmailProxy.Connections;
using EmailProxy.Imap;
using EmailProxy.Smtp;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Connections;

/// <summary>Bugs found in review: a password where a command belongs must not reach the trace log, nor be read as the next command.</summary>
public sealed class LoggingRedactionTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public async Task Smtp_Base64PasswordSentAfterARefusedAuth_IsNotLogged()
    {
        var log = new RecordingLoggerProvider();
        var (connection, client) = SessionHarness.Connect();
        var session = new SmtpSession(connection, new SessionHarness(_temp.Path, TimeProvider.System).Environment(), SessionHarness.Smtp(), log.CreateLogger("session"));
        // AUTH before EHLO is refused, so the client's pipelined base64 lines arrive as commands.
        await SessionHarness.WriteAsync(client.Output, "AUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0LXBhc3N3b3Jk\r\nQUIT\r\n");
        await client.Output.CompleteAsync();
        await session.RunAsync().Guarded();

        Assert.Contains(log.Lines, l => l.Contains("sent AUTH", StringComparison.Ordinal));
        Assert.Contains(log.Lines, l => l.Contains("sent <other>", StringComparison.Ordinal));
        Assert.DoesNotContain(log.Lines, l => l.Contains("C2VJCMV0", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task ImapReader_RejectedLineWithNonSynchronisingLiteral_SkipsTheLiteral()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync("a LOGIN us(er {11+}\r\nhunter2 pw\r\nb NOOP\r\n"u8.ToArray());
        await pipe.Writer.CompleteAsync();
        var reader = new ImapCommandReader(pipe.Reader, _ => ValueTask.CompletedTask);

        var rejected = await Assert.ThrowsAsync<ImapSyntaxException>(() => reader.ReadCommandAsync(CancellationToken.None).AsTask().Guarded());
        Assert.Equal("a", rejected.Tag);
        var next = await reader.ReadCommandAsync(CancellationToken.None).AsTask().Guarded();
        Assert.Equal("b", next!.Tag);
        Assert.Equal("NOOP", next.Name);
    }

    public void Dispose() => _temp.Dispose();
}
