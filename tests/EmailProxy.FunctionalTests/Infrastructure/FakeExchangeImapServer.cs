using System.Net.Sockets;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// A fake of the Exchange Online IMAP4 service on 127.0.0.1 with implicit TLS: greeting and capabilities as
/// Exchange sends them, AUTHENTICATE XOAUTH2 (with SASL-IR or two-step) checked against
/// <see cref="FakeIdentityServer.IsValid"/>, and enough of IMAP4rev1 for MailKit (LIST, SELECT, FETCH, APPEND, ...).
/// </summary>
internal sealed class FakeExchangeImapServer : IAsyncDisposable
{
    public const string Greeting = "* OK The Microsoft Exchange IMAP4 service is ready. [TQBXAFAAUgAwADQAQwBBADAAMAAwADUALgBuAGEAbQBwAHIAZAAwADQALgBwAHIAbwBkAC4AbwB1AHQAbABvAG8AawAuAGMAbwBtAA==]";
    public const string PreAuthCapabilities = "IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+";
    public const string PreAuthCapabilitiesWithoutSaslIr = "IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 UIDPLUS ID UNSELECT CHILDREN IDLE NAMESPACE LITERAL+";
    public const string PostAuthCapabilities = "IMAP4 IMAP4rev1 AUTH=PLAIN AUTH=XOAUTH2 SASL-IR UIDPLUS MOVE ID UNSELECT CLIENTACCESSRULES CLIENTNETWORKPRESENCELOCATION BACKENDAUTHENTICATE CHILDREN IDLE NAMESPACE LITERAL+";
    public const string Inbox = "INBOX";
    public const string SentItems = "Sent Items";
    public const uint UidValidity = 14;

    private readonly FakeTcpListener _tcp;
    private readonly FakeTlsAcceptor _tls;
    private readonly Dictionary<string, List<FakeImapMessage>> _mailboxes = new(StringComparer.Ordinal)
    {
        [Inbox] = [],
        [SentItems] = [],
    };

    private readonly Dictionary<string, uint> _nextUid = new(StringComparer.Ordinal)
    {
        [Inbox] = 1,
        [SentItems] = 1,
    };

    private readonly List<FakeAppendedMessage> _appended = [];

    public FakeExchangeImapServer(FakeIdentityServer identity, bool useUntrustedCertificate = false, bool supportSaslIr = true)
    {
        XOAuth2 = new FakeXOAuth2Verifier(identity);
        _tcp = new FakeTcpListener(HandleClientAsync);
        _tls = new FakeTlsAcceptor(useUntrustedCertificate ? TestCertificates.Untrusted : TestCertificates.Trusted);
        SupportsSaslIr = supportSaslIr;
    }

    public bool SupportsSaslIr { get; }

    /// <summary>The port bound by <see cref="Start"/>.</summary>
    public int Port => _tcp.Port;

    /// <summary>Every command line received (tag included; literal bytes left out, their <c>{n}</c> marker kept).</summary>
    public ObservableLog Commands { get; } = new("fake IMAP server commands");

    /// <summary>Unexpected errors in sessions (bugs of the fake or protocol violations it could not answer).</summary>
    public ObservableLog Errors { get; } = new("fake IMAP server errors");

    public int ConnectionCount => _tcp.ConnectionCount;

    public int TlsHandshakeFailures => _tls.Failures;

    public int AuthenticationAttempts => XOAuth2.Attempts;

    public int SuccessfulAuthentications => XOAuth2.Successes;

    /// <summary>The decoded XOAUTH2 initial responses, e.g. <c>user=u\x01auth=Bearer t\x01\x01</c>.</summary>
    public IReadOnlyList<string> XOAuth2Strings => XOAuth2.DecodedResponses;

    /// <summary>Messages stored with APPEND, in order.</summary>
    public IReadOnlyList<FakeAppendedMessage> AppendedMessages
    {
        get
        {
            lock (Gate)
            {
                return [.. _appended];
            }
        }
    }

    /// <summary>Guards mailbox contents and message flags.</summary>
    internal Lock Gate { get; } = new();

    /// <summary>The XOAUTH2 check of the sessions.</summary>
    internal FakeXOAuth2Verifier XOAuth2 { get; }

    internal string CapabilitiesBeforeAuthentication => SupportsSaslIr ? PreAuthCapabilities : PreAuthCapabilitiesWithoutSaslIr;

    public void Start() => _tcp.Start();

    /// <summary>Adds a message to a mailbox and returns its UID.</summary>
    public uint AddMessage(byte[] message, string mailbox = Inbox)
    {
        ArgumentNullException.ThrowIfNull(message);
        lock (Gate)
        {
            return AddLocked(mailbox, message, [], DateTimeOffset.UtcNow);
        }
    }

    /// <summary>The bytes of the messages in a mailbox, in order.</summary>
    public IReadOnlyList<byte[]> GetMessages(string mailbox = Inbox)
    {
        lock (Gate)
        {
            return [.. _mailboxes[mailbox].Select(message => message.Bytes)];
        }
    }

    /// <summary>Gmail's JSON status of a refused token (the challenge before the NO).</summary>
    public const string GmailChallengeJson = "{\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"}";

    /// <summary>Refuse a token as imap.gmail.com does: <c>+ base64(JSON status)</c>, then after the client's empty line <c>NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)</c>.</summary>
    public bool GmailStyleRefusal { get; set; }

    /// <summary>The next <paramref name="count"/> XOAUTH2 attempts fail even with a valid token.</summary>
    public void RejectNextAuthentications(int count) => XOAuth2.RejectNext(count);

    /// <summary>Waits for a command line matching the predicate (see <see cref="Commands"/>).</summary>
    public Task<string> WaitForCommandAsync(Func<string, bool> predicate, TimeSpan? timeout = null) => Commands.WaitForAsync(predicate, timeout);

    public Task StopAsync() => _tcp.StopAsync();

    public ValueTask DisposeAsync() => _tcp.DisposeAsync();

    internal static string? CanonicalMailbox(string name)
    {
        if (string.Equals(name, Inbox, StringComparison.OrdinalIgnoreCase))
        {
            return Inbox;
        }

        return string.Equals(name, SentItems, StringComparison.Ordinal) ? SentItems : null;
    }

    internal static IReadOnlyList<string> MailboxNames => [Inbox, SentItems];

    /// <summary>Live list of a mailbox; only use under <see cref="Gate"/>.</summary>
    internal List<FakeImapMessage> MailboxLocked(string mailbox) => _mailboxes[mailbox];

    internal uint UidNextLocked(string mailbox) => _nextUid[mailbox];

    internal uint Append(string mailbox, byte[] bytes, IReadOnlyList<string> flags, string? internalDate)
    {
        lock (Gate)
        {
            var uid = AddLocked(mailbox, bytes, flags, DateTimeOffset.UtcNow);
            _appended.Add(new FakeAppendedMessage(mailbox, uid, flags, internalDate, bytes));
            return uid;
        }
    }

    private uint AddLocked(string mailbox, byte[] bytes, IEnumerable<string> flags, DateTimeOffset internalDate)
    {
        var uid = _nextUid[mailbox]++;
        _mailboxes[mailbox].Add(new FakeImapMessage(uid, bytes, internalDate, flags));
        return uid;
    }

    private async Task HandleClientAsync(TcpClient client, CancellationToken cancellationToken)
    {
        try
        {
            using (client)
            {
                client.NoDelay = true;
                if (await _tls.AcceptAsync(client.GetStream(), cancellationToken) is not { } tls)
                {
                    return;
                }

                await using var connection = new FakeConnection(tls, FakeImapSession.MaxLine);
                await new FakeImapSession(this, connection).RunAsync(cancellationToken);
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
