using EmailProxy.Connections;
using EmailProxy.Imap;
using EmailProxy.Pop3;
using EmailProxy.Smtp;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Connections;

/// <summary>The one connection handler, built as Kestrel builds it (from the container), for each protocol.</summary>
public sealed class MailConnectionHandlerTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public Task OnConnectedAsync_Imap_SessionLogsUnderImapSessionCategory() =>
        AssertSessionCategory(SessionHarness.Imap(), typeof(ImapSession));

    [Fact]
    public Task OnConnectedAsync_Smtp_SessionLogsUnderSmtpSessionCategory() =>
        AssertSessionCategory(SessionHarness.Smtp(), typeof(SmtpSession));

    [Fact]
    public Task OnConnectedAsync_Pop3_SessionLogsUnderPop3SessionCategory() =>
        AssertSessionCategory(SessionHarness.Pop3(), typeof(Pop3Session));

    private async Task AssertSessionCategory<TProtocol>(TProtocol protocol, Type sessionType)
        where TProtocol : MailProtocol
    {
        var log = new RecordingLoggerProvider();
        var services = new ServiceCollection()
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(log))
            .AddSingleton(protocol)
            .AddSingleton(new SessionHarness(_temp.Path, TimeProvider.System).Environment());
        using var provider = services.BuildServiceProvider();
        var handler = ActivatorUtilities.CreateInstance<MailConnectionHandler<TProtocol>>(provider);

        var (connection, client) = SessionHarness.Connect();
        await client.Output.CompleteAsync();
        await handler.OnConnectedAsync(connection).Guarded();

        var entry = Assert.Single(log.Entries, e => e.EventId.Name == "SessionEnded");
        Assert.Equal(sessionType.FullName, entry.Category);
    }

    public void Dispose() => _temp.Dispose();
}
