using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Net.Security;
using System.Text;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>One connection to <see cref="FakeExchangePop3Server"/> (after the implicit TLS handshake, if any).</summary>
internal sealed class FakePop3Session
{
    private const string ProtocolError = "-ERR Protocol error.";
    private const string OutOfRange = "-ERR The specified message is out of range.";
    private const string NotConnected = "-ERR User is authenticated but not connected.";

    private readonly FakeExchangePop3Server _server;
    private readonly HashSet<int> _markedDeleted = [];
    private readonly FakeConnection _connection;
    private readonly FakeTlsAcceptor _tls;
    private bool _userGiven;
    private IReadOnlyList<FakePop3Message>? _maildrop;

    /// <summary>Logged in with an app token whose app may not open the mailbox (see <see cref="FakeXOAuth2Verifier.UnconnectedAppUser"/>).</summary>
    private bool _notConnected;

    /// <param name="tls">What STLS uses for its handshake.</param>
    public FakePop3Session(FakeExchangePop3Server server, FakeConnection connection, FakeTlsAcceptor tls)
    {
        _server = server;
        _connection = connection;
        _tls = tls;
    }

    private bool Authenticated => _maildrop is not null;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await ReplyAsync(FakeExchangePop3Server.Greeting, cancellationToken);
        while (true)
        {
            var line = await _connection.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return;
            }

            var space = line.IndexOf(' ', StringComparison.Ordinal);
            var verb = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var argument = space < 0 ? string.Empty : line[(space + 1)..];
            _server.Commands.Add(DisplayOf(verb, argument, line));
            if (!await ExecuteAsync(verb, argument, cancellationToken))
            {
                return;
            }
        }
    }

    private static string DisplayOf(string verb, string argument, string line)
    {
        if (verb == "AUTH")
        {
            var parts = argument.Split(' ', 2);
            return parts.Length > 1 ? $"AUTH {parts[0]} {FakeExchangePop3Server.RedactedResponse}" : line;
        }

        return verb == "PASS" ? $"PASS {FakeExchangePop3Server.RedactedResponse}" : line;
    }

    /// <summary>Runs one command; false when the session ends.</summary>
    private async Task<bool> ExecuteAsync(string verb, string argument, CancellationToken cancellationToken)
    {
        if (_notConnected && verb is not ("CAPA" or "QUIT"))
        {
            await ReplyAsync(NotConnected, cancellationToken);
            return true;
        }

        switch (verb)
        {
            case "CAPA":
                List<string> capabilities = ["+OK", "TOP", "UIDL", "SASL PLAIN XOAUTH2", "USER"];
                if (!_connection.IsTls)
                {
                    capabilities.Add("STLS");
                }

                capabilities.Add(".");
                await ReplyAsync(string.Join("\r\n", capabilities), cancellationToken);
                return true;
            case "QUIT":
                if (Authenticated)
                {
                    _server.ApplyDeletions(_markedDeleted.Select(index => _maildrop![index].Number));
                }

                await ReplyAsync(FakeExchangePop3Server.SigningOff, cancellationToken);
                return false;
            case "STLS" when !_connection.IsTls && !Authenticated:
                await ReplyAsync("+OK Begin TLS negotiation", cancellationToken);
                _userGiven = false;
                return await _connection.StartTlsAsync(_tls, cancellationToken);
            case "AUTH" when _connection.IsTls && !Authenticated:
                await AuthenticateAsync(argument, cancellationToken);
                return true;
            case "USER" when !Authenticated && !_userGiven:
                _userGiven = true;
                await ReplyAsync("+OK", cancellationToken);
                return true;
            case "PASS" when !Authenticated && _userGiven:
                _userGiven = false;
                await ReplyAsync(FakeExchangePop3Server.LogonFailure, cancellationToken);
                return true;
        }

        if (!Authenticated)
        {
            await ReplyAsync(FakeExchangePop3Server.InvalidState, cancellationToken);
            return true;
        }

        var reply = verb switch
        {
            "STAT" => Stat(argument),
            "LIST" => List(argument),
            "UIDL" => Uidl(argument),
            "RETR" => Retrieve(argument),
            "TOP" => Top(argument),
            "DELE" => Delete(argument),
            "NOOP" => argument.Length == 0 ? Text("+OK") : Text(ProtocolError),
            "RSET" => Reset(argument),
            "STLS" or "AUTH" or "USER" or "PASS" => Text(FakeExchangePop3Server.InvalidState),
            _ => Text(ProtocolError),
        };
        await _connection.WriteAsync(reply, cancellationToken);
        return true;
    }

    private async Task AuthenticateAsync(string argument, CancellationToken cancellationToken)
    {
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length is 0 or > 2)
        {
            await ReplyAsync(ProtocolError, cancellationToken);
            return;
        }

        var mechanism = parts[0].ToUpperInvariant();
        if (mechanism is not ("XOAUTH2" or "PLAIN"))
        {
            await ReplyAsync("-ERR Unrecognized authentication type.", cancellationToken);
            return;
        }

        var response = parts.Length > 1 ? parts[1] : await ReadContinuationAsync(cancellationToken);
        if (response is null)
        {
            return;
        }

        if (response == "*")
        {
            await ReplyAsync("-ERR Authentication canceled.", cancellationToken);
            return;
        }

        if (mechanism == "PLAIN")
        {
            // Basic authentication is off for the tenant.
            await ReplyAsync(FakeExchangePop3Server.AuthenticationFailure, cancellationToken);
            return;
        }

        if (_server.XOAuth2.Verify(response) is not null)
        {
            _maildrop = _server.SnapshotMaildrop();
            await ReplyAsync(FakeExchangePop3Server.AuthenticationSucceeded, cancellationToken);
            return;
        }

        if (_server.XOAuth2.UnconnectedAppUser(response) is not null)
        {
            // Exchange accepts an app-only token for a mailbox the app was not granted, and refuses what follows.
            _notConnected = true;
            _maildrop = [];
            await ReplyAsync(FakeExchangePop3Server.AuthenticationSucceeded, cancellationToken);
            return;
        }

        if (_server.GmailStyleChallenge)
        {
            if (!await FakeXOAuth2Verifier.PlayErrorChallengeAsync(_connection, "+", FakeExchangePop3Server.GmailChallengeJson, _server.Commands, cancellationToken))
            {
                return;
            }

            await ReplyAsync(FakeExchangePop3Server.GmailInvalidCredentials, cancellationToken);
            return;
        }

        await ReplyAsync(FakeExchangePop3Server.AuthenticationFailure, cancellationToken);
    }

    /// <summary>Sends the empty continuation and reads the client's base64 line; null at end of stream.</summary>
    private async Task<string?> ReadContinuationAsync(CancellationToken cancellationToken)
    {
        await ReplyAsync("+ ", cancellationToken);
        var response = await _connection.ReadLineAsync(cancellationToken);
        if (response is not null)
        {
            _server.Commands.Add(FakeExchangePop3Server.RedactedResponse);
        }

        return response;
    }

    private byte[] Stat(string argument)
    {
        if (argument.Length != 0)
        {
            return Text(ProtocolError);
        }

        var live = LiveMessages().ToList();
        return Text($"+OK {live.Count} {live.Sum(entry => (long)entry.Message.Bytes.Length)}");
    }

    private byte[] List(string argument)
    {
        if (argument.Length == 0)
        {
            var live = LiveMessages().ToList();
            var lines = live.Select(entry => $"{entry.Index + 1} {entry.Message.Bytes.Length}");
            return Text(string.Join("\r\n", [$"+OK {live.Count} {live.Sum(entry => (long)entry.Message.Bytes.Length)}", .. lines, "."]));
        }

        return TryGetMessage(argument, out var index, out var error) ? Text($"+OK {index + 1} {_maildrop![index].Bytes.Length}") : error;
    }

    private byte[] Uidl(string argument)
    {
        if (argument.Length == 0)
        {
            var lines = LiveMessages().Select(entry => $"{entry.Index + 1} {entry.Message.Uid}");
            return Text(string.Join("\r\n", ["+OK", .. lines, "."]));
        }

        return TryGetMessage(argument, out var index, out var error) ? Text($"+OK {index + 1} {_maildrop![index].Uid}") : error;
    }

    private byte[] Retrieve(string argument)
    {
        if (!TryGetMessage(argument, out var index, out var error))
        {
            return error;
        }

        var bytes = _maildrop![index].Bytes;
        return MultiLine($"+OK {bytes.Length} octets", bytes);
    }

    private byte[] Top(string argument)
    {
        var parts = argument.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var bodyLines))
        {
            return Text(ProtocolError);
        }

        if (!TryGetMessage(parts[0], out var index, out var error))
        {
            return error;
        }

        var bytes = _maildrop![index].Bytes;
        var separator = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        var end = separator < 0 ? bytes.Length : separator + 4;
        for (var line = 0; line < bodyLines && end < bytes.Length; line++)
        {
            var newline = bytes.AsSpan(end).IndexOf((byte)'\n');
            end = newline < 0 ? bytes.Length : end + newline + 1;
        }

        return MultiLine("+OK", bytes.AsSpan(0, end));
    }

    private byte[] Delete(string argument)
    {
        if (!TryGetMessage(argument, out var index, out var error))
        {
            return error;
        }

        _markedDeleted.Add(index);
        return Text("+OK");
    }

    private byte[] Reset(string argument)
    {
        if (argument.Length != 0)
        {
            return Text(ProtocolError);
        }

        _markedDeleted.Clear();
        return Text("+OK");
    }

    private IEnumerable<(int Index, FakePop3Message Message)> LiveMessages() =>
        _maildrop!.Select((message, index) => (index, message)).Where(entry => !_markedDeleted.Contains(entry.index));

    /// <summary>Parses a message number of the session (1-based) that exists and is not marked deleted.</summary>
    private bool TryGetMessage(string argument, out int index, out byte[] error)
    {
        index = -1;
        error = [];
        if (!int.TryParse(argument, NumberStyles.None, CultureInfo.InvariantCulture, out var number))
        {
            error = Text(ProtocolError);
            return false;
        }

        if (number < 1 || number > _maildrop!.Count || _markedDeleted.Contains(number - 1))
        {
            error = Text(OutOfRange);
            return false;
        }

        index = number - 1;
        return true;
    }

    private static byte[] Text(string text) => Encoding.UTF8.GetBytes(text + "\r\n");

    /// <summary>A status line, then the content dot-stuffed (a line starting with "." gets another), then the lone dot.</summary>
    private static byte[] MultiLine(string status, ReadOnlySpan<byte> content)
    {
        using var output = new MemoryStream(content.Length + (content.Length / 64) + 64);
        output.Write(Text(status));
        var rest = content;
        while (!rest.IsEmpty)
        {
            var newline = rest.IndexOf((byte)'\n');
            var line = newline < 0 ? rest : rest[..(newline + 1)];
            if (line[0] == (byte)'.')
            {
                output.WriteByte((byte)'.');
            }

            output.Write(line);
            rest = rest[line.Length..];
        }

        if (!content.IsEmpty && content[^1] != (byte)'\n')
        {
            output.Write("\r\n"u8);
        }

        output.Write(".\r\n"u8);
        return output.ToArray();
    }

    private Task ReplyAsync(string text, CancellationToken cancellationToken) => _connection.WriteLineAsync(text, cancellationToken);
}
