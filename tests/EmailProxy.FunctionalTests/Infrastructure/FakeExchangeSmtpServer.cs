using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;

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

    private const int MaxLine = 64 * 1024;

    private readonly FakeIdentityServer _identity;
    private readonly FakeTcpListener _tcp;
    private readonly ConcurrentQueue<FakeSmtpMessage> _messages = new();
    private int _rejectNext;
    private int _authenticationAttempts;

    public FakeExchangeSmtpServer(FakeIdentityServer identity)
    {
        _identity = identity;
        _tcp = new FakeTcpListener(HandleAsync);
    }

    public int Port => _tcp.Port;

    /// <summary>Every command line received (AUTH responses replaced by a marker, DATA content left out).</summary>
    public ObservableLog Commands { get; } = new("fake SMTP server commands");

    public IReadOnlyList<FakeSmtpMessage> Messages => [.. _messages];

    public int AuthenticationAttempts => Volatile.Read(ref _authenticationAttempts);

    /// <summary>The reply to a refused token (default: Exchange's 5.7.3); set to <see cref="SmtpAuthDisabledReply"/> to play a tenant with SMTP AUTH off.</summary>
    public string FailureReply { get; set; } = UnsuccessfulReply;

    /// <summary>Answer a refused token as Gmail does: <c>334 base64({"status":"400",...})</c>, then the 535 after the client's empty line.</summary>
    public bool GmailStyleChallenge { get; set; }

    public void RejectNextAuthentications(int count) => Interlocked.Exchange(ref _rejectNext, count);

    public void Start() => _tcp.Start();

    public ValueTask DisposeAsync() => _tcp.DisposeAsync();

    private async Task HandleAsync(TcpClient client, CancellationToken cancellationToken)
    {
        using (client)
        {
            client.NoDelay = true;
            Stream stream = client.GetStream();
            try
            {
                await new Session(this, stream).RunAsync(cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or OperationCanceledException or ObjectDisposedException or SocketException or System.Security.Authentication.AuthenticationException)
            {
                // The client went away or the server is stopping.
            }
        }
    }

    private bool Check(string base64)
    {
        Interlocked.Increment(ref _authenticationAttempts);
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
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(base64.Trim()));
        }
        catch (FormatException)
        {
            return false;
        }
        var parts = decoded.Split('\u0001');
        if (parts.Length != 4 || !parts[0].StartsWith("user=", StringComparison.Ordinal) || !parts[1].StartsWith("auth=Bearer ", StringComparison.Ordinal))
        {
            return false;
        }
        return _identity.IsValid(parts[1]["auth=Bearer ".Length..], parts[0]["user=".Length..]);
    }

    private sealed class Session(FakeExchangeSmtpServer server, Stream stream)
    {
        private PipeReader _reader = PipeReader.Create(stream, new StreamPipeReaderOptions(leaveOpen: true));
        private Stream _stream = stream;
        private bool _tls;
        private bool _authenticated;
        private string? _mailFrom;
        private readonly List<string> _recipients = [];

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            await ReplyAsync($"220 {HostName} Microsoft ESMTP MAIL Service ready at Tue, 24 Nov 2026 00:00:00 +0000", cancellationToken);
            while (true)
            {
                var raw = await ReadLineAsync(cancellationToken);
                if (raw is null)
                {
                    return;
                }
                var line = Encoding.UTF8.GetString(raw).TrimEnd('\r', '\n');
                var space = line.IndexOf(' ');
                var verb = (space < 0 ? line : line[..space]).ToUpperInvariant();
                var argument = space < 0 ? "" : line[(space + 1)..];
                server.Commands.Add(verb == "AUTH" ? $"AUTH {argument.Split(' ')[0]}" : line);
                switch (verb)
                {
                    case "EHLO":
                        var extensions = new List<string> { $"{HostName} Hello [127.0.0.1]", "SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES" };
                        extensions.Add(_tls ? "AUTH LOGIN XOAUTH2" : "STARTTLS");
                        extensions.AddRange(["8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"]);
                        await ReplyAsync(string.Join("\r\n", extensions.Select((e, i) => $"250{(i == extensions.Count - 1 ? ' ' : '-')}{e}")), cancellationToken);
                        break;
                    case "STARTTLS" when !_tls:
                        await ReplyAsync("220 2.0.0 SMTP server ready", cancellationToken);
                        await _reader.CompleteAsync();
                        var ssl = new SslStream(_stream, leaveInnerStreamOpen: false);
                        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificateContext = TestCertificates.Trusted.ServerCertificateContext }, cancellationToken);
                        _stream = ssl;
                        _reader = PipeReader.Create(ssl, new StreamPipeReaderOptions(leaveOpen: true));
                        _tls = true;
                        break;
                    case "AUTH" when !_tls:
                        await ReplyAsync("504 5.7.4 Unrecognized authentication type [FAKE01.prod.outlook.com]", cancellationToken);
                        break;
                    case "AUTH":
                        await AuthenticateAsync(argument, cancellationToken);
                        break;
                    case "MAIL" when !_authenticated:
                        await ReplyAsync("530 5.7.57 Client not authenticated to send mail. [FAKE01.prod.outlook.com]", cancellationToken);
                        break;
                    case "MAIL":
                        _mailFrom = argument;
                        _recipients.Clear();
                        await ReplyAsync("250 2.1.0 Sender OK", cancellationToken);
                        break;
                    case "RCPT" when _mailFrom is null:
                        await ReplyAsync("503 5.5.1 Bad sequence of commands", cancellationToken);
                        break;
                    case "RCPT":
                        _recipients.Add(argument);
                        await ReplyAsync("250 2.1.5 Recipient OK", cancellationToken);
                        break;
                    case "DATA" when _recipients.Count == 0:
                        await ReplyAsync("503 5.5.1 Bad sequence of commands", cancellationToken);
                        break;
                    case "DATA":
                        await ReplyAsync("354 Start mail input; end with <CRLF>.<CRLF>", cancellationToken);
                        var data = await ReadDataAsync(cancellationToken);
                        if (data is null)
                        {
                            return;
                        }
                        server._messages.Enqueue(new FakeSmtpMessage(_mailFrom!, [.. _recipients], data));
                        _mailFrom = null;
                        _recipients.Clear();
                        await ReplyAsync($"250 2.0.0 OK <{Guid.NewGuid():N}@{HostName}> [Hostname={HostName}]", cancellationToken);
                        break;
                    case "RSET":
                        _mailFrom = null;
                        _recipients.Clear();
                        await ReplyAsync("250 2.0.0 Resetting", cancellationToken);
                        break;
                    case "NOOP":
                        await ReplyAsync("250 2.0.0 OK", cancellationToken);
                        break;
                    case "QUIT":
                        await ReplyAsync("221 2.0.0 Service closing transmission channel", cancellationToken);
                        return;
                    default:
                        await ReplyAsync("500 5.3.3 Unrecognized command", cancellationToken);
                        break;
                }
            }
        }

        private async Task AuthenticateAsync(string argument, CancellationToken cancellationToken)
        {
            var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0 || !parts[0].Equals("XOAUTH2", StringComparison.OrdinalIgnoreCase))
            {
                await ReplyAsync("504 5.7.4 Unrecognized authentication type", cancellationToken);
                return;
            }
            var response = parts.Length > 1 ? parts[1] : null;
            if (response is null)
            {
                await ReplyAsync("334 ", cancellationToken);
                var raw = await ReadLineAsync(cancellationToken);
                if (raw is null)
                {
                    return;
                }
                response = Encoding.ASCII.GetString(raw).TrimEnd('\r', '\n');
            }
            if (server.Check(response))
            {
                _authenticated = true;
                await ReplyAsync("235 2.7.0 Authentication successful", cancellationToken);
                return;
            }
            if (server.GmailStyleChallenge)
            {
                var json = "{\"status\":\"400\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"}";
                await ReplyAsync($"334 {Convert.ToBase64String(Encoding.UTF8.GetBytes(json))}", cancellationToken);
                var empty = await ReadLineAsync(cancellationToken);
                if (empty is null)
                {
                    return;
                }
                server.Commands.Add($"(answer to the challenge: {empty.Length} bytes)");
                await ReplyAsync("535-5.7.8 Username and Password not accepted. For more information, go to\r\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials", cancellationToken);
                return;
            }
            await ReplyAsync(server.FailureReply, cancellationToken);
        }

        /// <summary>Reads DATA up to the lone dot, undoing dot-stuffing; the CRLF before the dot belongs to the message.</summary>
        private async Task<byte[]?> ReadDataAsync(CancellationToken cancellationToken)
        {
            using var data = new MemoryStream();
            while (true)
            {
                var line = await ReadLineAsync(cancellationToken);
                if (line is null)
                {
                    return null;
                }
                if (line.AsSpan().SequenceEqual(".\r\n"u8))
                {
                    return data.ToArray();
                }
                var start = line.Length > 0 && line[0] == (byte)'.' ? 1 : 0;
                data.Write(line, start, line.Length - start);
            }
        }

        /// <summary>A line with its CRLF, as raw bytes; null at end of stream.</summary>
        private async Task<byte[]?> ReadLineAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                var result = await _reader.ReadAsync(cancellationToken);
                var buffer = result.Buffer;
                if (buffer.PositionOf((byte)'\n') is { } end)
                {
                    var next = buffer.GetPosition(1, end);
                    var line = buffer.Slice(0, next).ToArray();
                    _reader.AdvanceTo(next);
                    return line;
                }
                if (result.IsCompleted || buffer.Length > MaxLine)
                {
                    _reader.AdvanceTo(buffer.End);
                    return null;
                }
                _reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }

        private async Task ReplyAsync(string text, CancellationToken cancellationToken)
        {
            await _stream.WriteAsync(Encoding.UTF8.GetBytes(text + "\r\n"), cancellationToken);
            await _stream.FlushAsync(cancellationToken);
        }
    }
}
