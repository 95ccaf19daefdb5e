using System.Collections.Concurrent;
using System.Net.Sockets;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// A fake of Exchange Online's SMTP submission (smtp.office365.com:587) on 127.0.0.1: plaintext
/// greeting, STARTTLS required before AUTH, <c>AUTH XOAUTH2</c> (two-step or one line) checked
/// against <see cref="FakeIdentityServer.IsValid"/>, Exchange's reply texts, several transactions
/// per session and DATA stored byte-exact (dot-stuffing undone). Switches play Exchange's failures
/// and Gmail's JSON challenge.
/// </summary>
internal sealed class FakeExchangeSmtpServer : IAsyncDisposable
{
    public const string HostName = "FAKE01.outlook.office365.com";
    public const string UnsuccessfulReply = "535 5.7.3 Authentication unsuccessful [FAKE01.prod.outlook.com 2026-11-24T00:00:00.000Z 08DD]";
    public const string SmtpAuthDisabledReply = "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [FAKE01.prod.outlook.com]";

    public const string GmailChallengeJson = "{\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"}";

    private readonly FakeTcpListener _tcp;
    private readonly FakeTlsAcceptor _tls = new(TestCertificates.Trusted);
    private readonly ConcurrentQueue<FakeSmtpMessage> _messages = new();

    public FakeExchangeSmtpServer(FakeIdentityServer identity)
    {
        XOAuth2 = new FakeXOAuth2Verifier(identity);
        _tcp = new FakeTcpListener(HandleAsync);
    }

    public int Port => _tcp.Port;

    /// <summary>Every command line received (AUTH responses replaced by a marker, DATA content left out).</summary>
    public ObservableLog Commands { get; } = new("fake SMTP server commands");

    public IReadOnlyList<FakeSmtpMessage> Messages => [.. _messages];

    public int AuthenticationAttempts => XOAuth2.Attempts;

    public int SuccessfulAuthentications => XOAuth2.Successes;

    /// <summary>The decoded XOAUTH2 responses, e.g. <c>user=u\x01auth=Bearer t\x01\x01</c>.</summary>
    public IReadOnlyList<string> XOAuth2Strings => XOAuth2.DecodedResponses;

    public int TlsHandshakeFailures => _tls.Failures;

    /// <summary>The reply to a refused token (default: Exchange's 5.7.3); set to <see cref="SmtpAuthDisabledReply"/> to play a tenant with SMTP AUTH off.</summary>
    public string FailureReply { get; set; } = UnsuccessfulReply;

    /// <summary>Exchange's refusal of a sender the signed-in user may not send as, at MAIL FROM.</summary>
    public const string SendAsDeniedReply = "550 5.7.60 SMTP; Client does not have permissions to send as this sender [FAKE01.prod.outlook.com 2026-11-24T00:00:00.000Z 08DD]";

    /// <summary>The reply to an authenticated MAIL FROM instead of <c>250 2.1.0 Sender OK</c> (e.g. <see cref="SendAsDeniedReply"/>); null for the 250.</summary>
    public string? MailFromReply { get; set; }

    /// <summary>TLS from the first byte, as smtp.gmail.com:465 (no STARTTLS offered).</summary>
    public bool ImplicitTls { get; set; }

    /// <summary>Answer a refused token as Gmail does: <c>334 base64({"status":"400",...})</c>, then the 535 after the client's empty line.</summary>
    public bool GmailStyleChallenge { get; set; }

    public void RejectNextAuthentications(int count) => XOAuth2.RejectNext(count);

    /// <summary>The XOAUTH2 check of the sessions.</summary>
    internal FakeXOAuth2Verifier XOAuth2 { get; }

    public void Start() => _tcp.Start();

    public ValueTask DisposeAsync() => _tcp.DisposeAsync();

    /// <summary>Called by a session when a DATA ended: the message is kept before the 250 is sent.</summary>
    internal void Add(FakeSmtpMessage message) => _messages.Enqueue(message);

    private async Task HandleAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using (client)
        {
            client.NoDelay = true;
            try
            {
                await using var connection = new FakeConnection(client.GetStream());
                await new FakeSmtpSession(this, connection, _tls).RunAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
            {
                // The client went away or the server is stopping.
            }
        }
    }
}
