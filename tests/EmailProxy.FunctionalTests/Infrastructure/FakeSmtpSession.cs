namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>One connection to <see cref="FakeExchangeSmtpServer"/>.</summary>
/// <param name="tls">What STARTTLS uses for its handshake.</param>
internal sealed class FakeSmtpSession(FakeExchangeSmtpServer server, FakeConnection connection, FakeTlsAcceptor tls)
{
    private const string HostName = FakeExchangeSmtpServer.HostName;

    private bool _authenticated;
    private string? _mailFrom;
    private readonly List<string> _recipients = [];

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        if (server.ImplicitTls && !await connection.StartTlsAsync(tls, cancellationToken))
        {
            return;
        }
        await ReplyAsync($"220 {HostName} Microsoft ESMTP MAIL Service ready at Tue, 24 Nov 2026 00:00:00 +0000", cancellationToken);
        while (true)
        {
            var line = await connection.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return;
            }
            var space = line.IndexOf(' ');
            var verb = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var argument = space < 0 ? "" : line[(space + 1)..];
            server.Commands.Add(verb == "AUTH" ? $"AUTH {argument.Split(' ')[0]}" : line);
            switch (verb)
            {
                case "EHLO":
                    var extensions = new List<string> { $"{HostName} Hello [127.0.0.1]", "SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES" };
                    extensions.Add(connection.IsTls ? "AUTH LOGIN XOAUTH2" : "STARTTLS");
                    extensions.AddRange(["8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"]);
                    await ReplyAsync(string.Join("\r\n", extensions.Select((e, i) => $"250{(i == extensions.Count - 1 ? ' ' : '-')}{e}")), cancellationToken);
                    break;
                case "STARTTLS" when !connection.IsTls:
                    await ReplyAsync("220 2.0.0 SMTP server ready", cancellationToken);
                    if (!await connection.StartTlsAsync(tls, cancellationToken))
                    {
                        return;
                    }
                    break;
                case "AUTH" when !connection.IsTls:
                    await ReplyAsync("504 5.7.4 Unrecognized authentication type [FAKE01.prod.outlook.com]", cancellationToken);
                    break;
                case "AUTH":
                    await AuthenticateAsync(argument, cancellationToken);
                    break;
                case "MAIL" when !_authenticated:
                    await ReplyAsync("530 5.7.57 Client not authenticated to send mail. [FAKE01.prod.outlook.com]", cancellationToken);
                    break;
                case "MAIL" when server.MailFromReply is { } refusal:
                    await ReplyAsync(refusal, cancellationToken);
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
                    var data = await connection.ReadDataAsync(cancellationToken);
                    if (data is null)
                    {
                        return;
                    }
                    server.Add(new FakeSmtpMessage(_mailFrom!, [.. _recipients], data));
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
            response = await connection.ReadLineAsync(cancellationToken);
            if (response is null)
            {
                return;
            }
        }
        if (server.XOAuth2.Verify(response) is not null)
        {
            _authenticated = true;
            await ReplyAsync("235 2.7.0 Authentication successful", cancellationToken);
            return;
        }
        if (server.GmailStyleChallenge)
        {
            if (!await FakeXOAuth2Verifier.PlayErrorChallengeAsync(connection, "334", FakeExchangeSmtpServer.GmailChallengeJson, server.Commands, cancellationToken))
            {
                return;
            }
            await ReplyAsync("535-5.7.8 Username and Password not accepted. For more information, go to\r\n535 5.7.8  https://support.google.com/mail/?p=BadCredentials", cancellationToken);
            return;
        }
        await ReplyAsync(server.FailureReply, cancellationToken);
    }

    private Task ReplyAsync(string text, CancellationToken cancellationToken) => connection.WriteLineAsync(text, cancellationToken);
}
