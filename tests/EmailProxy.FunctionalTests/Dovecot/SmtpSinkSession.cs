using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>One connection to the <see cref="SmtpSink"/>: answers every command with success, keeps what DATA carries.</summary>
internal sealed class SmtpSinkSession(SmtpSink sink, FakeConnection connection)
{
    private readonly List<string> _recipients = [];
    private string _mailFrom = "";

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await connection.WriteLineAsync("220 sink.test ESMTP test sink", cancellationToken);
        while (await connection.ReadLineAsync(cancellationToken) is { } command)
        {
            var verb = command.Split(' ', 2)[0].ToUpperInvariant();
            switch (verb)
            {
                case "EHLO":
                    await connection.WriteLineAsync("250-sink.test\r\n250-8BITMIME\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES", cancellationToken);
                    break;
                case "MAIL":
                    _mailFrom = command;
                    _recipients.Clear();
                    await connection.WriteLineAsync("250 2.1.0 Ok", cancellationToken);
                    break;
                case "RCPT":
                    _recipients.Add(command);
                    await connection.WriteLineAsync("250 2.1.5 Ok", cancellationToken);
                    break;
                case "DATA":
                    await connection.WriteLineAsync("354 End data with <CR><LF>.<CR><LF>", cancellationToken);
                    var data = await connection.ReadDataAsync(cancellationToken);
                    if (data is null)
                    {
                        return;
                    }
                    sink.Add(new SmtpSinkMessage(_mailFrom, [.. _recipients], data));
                    await connection.WriteLineAsync("250 2.0.0 Ok: queued", cancellationToken);
                    break;
                case "QUIT":
                    await connection.WriteLineAsync("221 2.0.0 Bye", cancellationToken);
                    return;
                default:
                    await connection.WriteLineAsync("250 2.0.0 Ok", cancellationToken);
                    break;
            }
        }
    }
}
