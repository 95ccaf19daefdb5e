using System.Net.Sockets;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// A fake of Exchange Online's POP3 service (outlook.office365.com:995) on 127.0.0.1: implicit TLS (or plaintext
/// with STLS), greeting, CAPA and reply texts as Exchange sends them, <c>AUTH XOAUTH2</c> (two-step or one line)
/// checked against <see cref="FakeIdentityServer.IsValid"/>, USER/PASS refused as with basic auth off, and the
/// transaction state (STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET, QUIT) over an in-memory maildrop, sent
/// dot-stuffed. Deletions are applied at QUIT only.
/// </summary>
internal sealed class FakeExchangePop3Server : IAsyncDisposable
{
    public const string Greeting = "+OK The Microsoft Exchange POP3 service is ready. [RgBSADEAUABSADAANwBDAEEAMAAwADQAMgAuAG4AYQBtAHAAcgBkADAANwAuAHAAcgBvAGQALgBvAHUAdABsAG8AbwBrAC4AYwBvAG0A]";
    public const string SigningOff = "+OK Microsoft Exchange Server POP3 server signing off.";
    public const string InvalidState = "-ERR Command is not valid in this state.";
    public const string AuthenticationFailure = "-ERR Authentication failure: unknown user name or bad password.";
    public const string LogonFailure = "-ERR Logon failure: unknown user name or bad password.";
    public const string AuthenticationSucceeded = "+OK User successfully authenticated.";
    public const string GmailInvalidCredentials = "-ERR [AUTH] Invalid credentials.";
    public const string GmailChallengeJson = "{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"https://mail.google.com/\"}";

    /// <summary>What <see cref="Commands"/> shows instead of a SASL response (so tokens are never logged).</summary>
    public const string RedactedResponse = "(SASL response redacted)";

    private readonly FakeTcpListener _tcp;
    private readonly FakeTlsAcceptor _tls = new(TestCertificates.Trusted);
    private readonly Lock _gate = new();
    private readonly List<FakePop3Message> _messages = [];
    private readonly List<int> _deleted = [];

    public FakeExchangePop3Server(FakeIdentityServer identity, bool implicitTls = true)
    {
        _tcp = new FakeTcpListener(HandleClientAsync);
        XOAuth2 = new FakeXOAuth2Verifier(identity);
        ImplicitTls = implicitTls;
    }

    /// <summary>True: TLS from the first byte (port 995); false: plaintext with STLS (port 110).</summary>
    public bool ImplicitTls { get; }

    /// <summary>The port bound by <see cref="Start"/>.</summary>
    public int Port => _tcp.Port;

    /// <summary>Every command line received; SASL responses and passwords replaced by <see cref="RedactedResponse"/>.</summary>
    public ObservableLog Commands { get; } = new("fake POP3 server commands");

    /// <summary>Unexpected errors in sessions (bugs of the fake).</summary>
    public ObservableLog Errors { get; } = new("fake POP3 server errors");

    public int ConnectionCount => _tcp.ConnectionCount;

    public int TlsHandshakeFailures => _tls.Failures;

    public int AuthenticationAttempts => XOAuth2.Attempts;

    public int SuccessfulAuthentications => XOAuth2.Successes;

    /// <summary>The decoded XOAUTH2 responses, e.g. <c>user=u\x01auth=Bearer t\x01\x01</c>.</summary>
    public IReadOnlyList<string> XOAuth2Strings => XOAuth2.DecodedResponses;

    /// <summary>Answer a refused token as Gmail does: <c>+ base64(json)</c>, then <see cref="GmailInvalidCredentials"/> after the client's empty line.</summary>
    public bool GmailStyleChallenge { get; set; }

    /// <summary>Numbers (1-based, in the order of <see cref="AddMessage"/>) of the messages deleted by a QUIT, in order.</summary>
    public IReadOnlyList<int> DeletedMessages
    {
        get
        {
            lock (_gate)
            {
                return [.. _deleted];
            }
        }
    }

    /// <summary>The XOAUTH2 check of the sessions.</summary>
    internal FakeXOAuth2Verifier XOAuth2 { get; }

    public void Start() => _tcp.Start();

    /// <summary>Adds a message (CRLF lines, any 8-bit bytes) to the maildrop; sessions authenticated later see it.</summary>
    public void AddMessage(byte[] message)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (_gate)
        {
            var number = _messages.Count + 1;
            _messages.Add(new FakePop3Message(number, $"AAQkADFakeUid{number:D6}", message));
        }
    }

    /// <summary>The next <paramref name="count"/> XOAUTH2 attempts fail even with a valid token.</summary>
    public void RejectNextAuthentications(int count) => XOAuth2.RejectNext(count);

    public Task StopAsync() => _tcp.StopAsync();

    public ValueTask DisposeAsync() => _tcp.DisposeAsync();

    /// <summary>The messages not yet deleted, as a session sees them when it enters the transaction state.</summary>
    internal IReadOnlyList<FakePop3Message> SnapshotMaildrop()
    {
        lock (_gate)
        {
            return [.. _messages.Where(message => !_deleted.Contains(message.Number))];
        }
    }

    internal void ApplyDeletions(IEnumerable<int> numbers)
    {
        lock (_gate)
        {
            foreach (var number in numbers.Order())
            {
                if (!_deleted.Contains(number))
                {
                    _deleted.Add(number);
                }
            }
        }
    }

    private async Task HandleClientAsync(TcpClient client, CancellationToken cancellationToken)
    {
        try
        {
            using (client)
            {
                client.NoDelay = true;
                Stream? stream = ImplicitTls ? await _tls.AcceptAsync(client.GetStream(), cancellationToken) : client.GetStream();
                if (stream is null)
                {
                    return;
                }

                await using var connection = new FakeConnection(stream);
                await new FakePop3Session(this, connection, _tls).RunAsync(cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            // The client went away or the server is stopping.
        }
        catch (Exception ex)
        {
            Errors.Add(ex.ToString());
        }
    }
}
