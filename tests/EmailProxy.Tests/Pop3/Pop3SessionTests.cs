using System.IO.Pipelines;
using EmailProxy.Connections;
using EmailProxy.Pop3;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Pop3;

/// <summary>The POP3 front before login, over in-memory pipes; the harness has no account, so a login is refused without any network.</summary>
public sealed class Pop3SessionTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private (Task Session, IDuplexPipe Client) Start()
    {
        var (connection, client) = SessionHarness.Connect();
        var environment = new SessionHarness(_temp.Path, TimeProvider.System).Environment();
        return (new Pop3Session(connection, environment, SessionHarness.Pop3(), NullLogger.Instance).RunAsync(), client);
    }

    private static Task<string> Line(IDuplexPipe client) => SessionHarness.ReadLineAsync(client.Input);

    [Fact]
    public async Task RunAsync_Connect_GreetsWithOk()
    {
        var (session, client) = Start();

        Assert.Equal("+OK Email OAuth2 Proxy POP3 ready", await Line(client));

        await SessionHarness.WriteAsync(client.Output, "QUIT\r\n");
        Assert.Equal("+OK Email OAuth2 Proxy signing off", await Line(client));
        await session.Guarded();
    }

    [Fact]
    public async Task RunAsync_Capa_ListsUserSaslAndNoStlsWithoutLocalTls()
    {
        var (session, client) = Start();
        await Line(client);

        await SessionHarness.WriteAsync(client.Output, "CAPA\r\nQUIT\r\n");

        var lines = new List<string>();
        for (var line = await Line(client); line != "."; line = await Line(client))
        {
            lines.Add(line);
        }
        Assert.Equal(["+OK Capability list follows", "USER", "SASL PLAIN LOGIN", "RESP-CODES", "AUTH-RESP-CODE", "IMPLEMENTATION Email-OAuth2-Proxy"], lines);
        Assert.StartsWith("+OK", await Line(client));
        await session.Guarded();
    }

    [Fact]
    public async Task RunAsync_UserPassForAnUnknownAccount_ErrAuthNamingTheAccountAndTheSessionGoesOn()
    {
        var (session, client) = Start();
        await Line(client);

        await SessionHarness.WriteAsync(client.Output, "PASS secret\r\nUSER nobody@example.com\r\nPASS pass word\r\nNOOP\r\nQUIT\r\n");

        Assert.Equal("-ERR Send USER first", await Line(client));
        Assert.Equal("+OK Send PASS", await Line(client));
        var refusal = await Line(client);
        Assert.StartsWith("-ERR [AUTH] There is no account 'nobody@example.com'", refusal, StringComparison.Ordinal);
        Assert.DoesNotContain("pass word", refusal, StringComparison.Ordinal);
        Assert.Equal("+OK", await Line(client));
        Assert.StartsWith("+OK", await Line(client));
        await session.Guarded();
    }

    [Fact]
    public async Task RunAsync_AuthPlainWithInitialResponse_LogsInAsTheAuthcid()
    {
        var (session, client) = Start();
        await Line(client);
        var plain = Convert.ToBase64String("\0someone@example.com\0secret"u8);

        await SessionHarness.WriteAsync(client.Output, $"AUTH\r\nAUTH PLAIN {plain}\r\nQUIT\r\n");

        Assert.Equal("+OK", await Line(client));
        Assert.Equal("PLAIN", await Line(client));
        Assert.Equal("LOGIN", await Line(client));
        Assert.Equal(".", await Line(client));
        Assert.StartsWith("-ERR [AUTH] There is no account 'someone@example.com'", await Line(client), StringComparison.Ordinal);
        Assert.StartsWith("+OK", await Line(client));
        await session.Guarded();
    }

    [Fact]
    public async Task RunAsync_AuthUnknownMechanism_ErrAndTheSessionGoesOn()
    {
        var (session, client) = Start();
        await Line(client);

        await SessionHarness.WriteAsync(client.Output, "AUTH CRAM-MD5\r\nQUIT\r\n");

        Assert.Equal("-ERR Unsupported mechanism; use PLAIN or LOGIN", await Line(client));
        Assert.StartsWith("+OK", await Line(client));
        await session.Guarded();
    }

    [Fact]
    public async Task RunAsync_StlsWithoutLocalTls_Refused()
    {
        var (session, client) = Start();
        await Line(client);

        await SessionHarness.WriteAsync(client.Output, "STLS\r\nQUIT\r\n");

        Assert.Equal("-ERR STLS is not available on this port", await Line(client));
        Assert.StartsWith("+OK", await Line(client));
        await session.Guarded();
    }

    [Fact]
    public async Task RunAsync_CommandBeforeLogin_AsksToLogInFirst()
    {
        var (session, client) = Start();
        await Line(client);

        await SessionHarness.WriteAsync(client.Output, "STAT\r\n\r\nQUIT\r\n");

        Assert.Equal("-ERR Log in first: USER/PASS or AUTH PLAIN/LOGIN", await Line(client));
        Assert.Equal("-ERR Empty command", await Line(client));
        Assert.StartsWith("+OK", await Line(client));
        await session.Guarded();
    }

    [Fact]
    public async Task RunAsync_LineOverTheLimit_ErrAndClosed()
    {
        var (session, client) = Start();
        await Line(client);

        await SessionHarness.WriteAsync(client.Output, "USER " + new string('a', MailSession.MaxLineLength + 1) + "\r\n");

        Assert.Equal($"-ERR Line too long: the limit is {MailSession.MaxLineLength} bytes; closing", await Line(client));
        await session.Guarded();
    }

    public void Dispose() => _temp.Dispose();
}
