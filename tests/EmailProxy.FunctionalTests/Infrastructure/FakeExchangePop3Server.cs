using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;

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

    private readonly FakeIdentityServer _identity;
    private readonly FakeTcpListener _tcp;
    private readonly Lock _gate = new();
    private readonly List<FakePop3Message> _messages = [];
    private readonly List<int> _deleted = [];
    private readonly ConcurrentQueue<string> _xoauth2Strings = new();
    private int _rejectNext;
    private int _tlsHandshakeFailures;
    private int _authenticationAttempts;
    private int _successfulAuthentications;

    public FakeExchangePop3Server(FakeIdentityServer identity, bool implicitTls = true)
    {
        _tcp = new FakeTcpListener(HandleClientAsync);
        _identity = identity;
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

    public int TlsHandshakeFailures => Volatile.Read(ref _tlsHandshakeFailures);

    public int AuthenticationAttempts => Volatile.Read(ref _authenticationAttempts);

    public int SuccessfulAuthentications => Volatile.Read(ref _successfulAuthentications);

    /// <summary>The decoded XOAUTH2 responses, e.g. <c>user=u\x01auth=Bearer t\x01\x01</c>.</summary>
    public IReadOnlyList<string> XOAuth2Strings => [.. _xoauth2Strings];

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
    public void RejectNextAuthentications(int count) => Interlocked.Exchange(ref _rejectNext, count);

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

    /// <summary>Checks a base64 XOAUTH2 response; counts the attempt and records the decoded string.</summary>
    internal bool CheckXOAuth2(string base64)
    {
        Interlocked.Increment(ref _authenticationAttempts);
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(base64.Trim()));
        }
        catch (FormatException)
        {
            return false;
        }

        _xoauth2Strings.Enqueue(decoded);
        while (true)
        {
            var reject = Volatile.Read(ref _rejectNext);
            if (reject <= 0)
            {
                break;
            }

            if (Interlocked.CompareExchange(ref _rejectNext, reject - 1, reject) == reject)
            {
                return false;
            }
        }

        var parts = decoded.Split('\u0001');
        if (parts.Length != 4
            || parts[2].Length != 0
            || parts[3].Length != 0
            || !parts[0].StartsWith("user=", StringComparison.Ordinal)
            || !parts[1].StartsWith("auth=Bearer ", StringComparison.Ordinal)
            || !_identity.IsValid(parts[1]["auth=Bearer ".Length..], parts[0]["user=".Length..]))
        {
            return false;
        }

        Interlocked.Increment(ref _successfulAuthentications);
        return true;
    }

    private async Task HandleClientAsync(TcpClient client, CancellationToken cancellationToken)
    {
        try
        {
            using (client)
            {
                client.NoDelay = true;
                Stream stream = client.GetStream();
                if (ImplicitTls)
                {
                    var tls = new SslStream(stream, leaveInnerStreamOpen: false);
                    try
                    {
                        await tls.AuthenticateAsServerAsync(
                            new SslServerAuthenticationOptions { ServerCertificateContext = TestCertificates.Trusted.ServerCertificateContext, ClientCertificateRequired = false },
                            cancellationToken);
                    }
                    catch (Exception ex) when (ex is AuthenticationException or IOException or OperationCanceledException or ObjectDisposedException)
                    {
                        Interlocked.Increment(ref _tlsHandshakeFailures);
                        await tls.DisposeAsync();
                        return;
                    }

                    stream = tls;
                }

                var session = new FakePop3Session(this, stream, isTls: ImplicitTls);
                try
                {
                    await session.RunAsync(cancellationToken);
                }
                finally
                {
                    await session.DisposeAsync();
                }
            }
        }
        catch (AuthenticationException)
        {
            // STLS handshake failed.
            Interlocked.Increment(ref _tlsHandshakeFailures);
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
