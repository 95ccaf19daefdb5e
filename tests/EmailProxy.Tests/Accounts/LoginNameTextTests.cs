using EmailProxy.Imap;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Accounts;

/// <summary>A login name is the client's text: in the answer that names it, it can neither break the line nor inject one.</summary>
public sealed class LoginNameTextTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    [Fact]
    public async Task LoginAsync_LoginNameWithCrLfInALiteral_AnswerStaysOneLineWithoutAnInjectedAlert()
    {
        var (connection, client) = SessionHarness.Connect();
        var environment = new SessionHarness(_temp.Path, TimeProvider.System).Environment();
        var session = new ImapSession(connection, environment, SessionHarness.Imap(), NullLogger.Instance).RunAsync();
        await SessionHarness.ReadLineAsync(client.Input);
        const string name = "x\r\n* OK [ALERT] forged\r";

        await SessionHarness.WriteAsync(client.Output, $"a1 LOGIN {{{name.Length}+}}\r\n{name} pw\r\na2 LOGOUT\r\n");

        var answer = await SessionHarness.ReadLineAsync(client.Input);
        Assert.StartsWith("a1 NO [AUTHENTICATIONFAILED] There is no account 'x?", answer, StringComparison.Ordinal);
        Assert.DoesNotContain('\r', answer);
        Assert.StartsWith("* BYE", await SessionHarness.ReadLineAsync(client.Input), StringComparison.Ordinal);
        await session.Guarded();
    }

    public void Dispose() => _temp.Dispose();
}
