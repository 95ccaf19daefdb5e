using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>One connection to <see cref="FakeExchangeImapServer"/>, after the TLS handshake.</summary>
internal sealed partial class FakeImapSession
{
    /// <summary>The longest command line the fake reads (literals not counted).</summary>
    public const int MaxLine = 1024 * 1024;

    private const int MaxLiteral = 256 * 1024 * 1024;
    private const string InvalidState = "BAD Command received in Invalid state.";
    private const string ArgumentError = "BAD Command Argument Error. 11";
    private const string CommandError = "BAD Command Error. 10";
    private const string NotConnected = "BAD User is authenticated but not connected.";
    private const string MailboxFlags = @"(\Seen \Answered \Flagged \Deleted \Draft $MDNSent)";

    private readonly FakeExchangeImapServer _server;
    private readonly FakeConnection _connection;
    private string? _user;
    private string? _selected;
    private bool _readOnly;
    private int _knownExists;

    /// <summary>Logged in with an app token whose app may not open the mailbox (see <see cref="FakeXOAuth2Verifier.UnconnectedAppUser"/>).</summary>
    private bool _notConnected;

    public FakeImapSession(FakeExchangeImapServer server, FakeConnection connection)
    {
        _server = server;
        _connection = connection;
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await WriteLineAsync(FakeExchangeImapServer.Greeting, cancellationToken);
        while (true)
        {
            var command = await ReadCommandAsync(cancellationToken);
            if (command is null)
            {
                return;
            }

            var (display, text, literals) = command.Value;
            _server.Commands.Add(display);
            List<object> tokens;
            try
            {
                tokens = ImapCommandParser.Tokenize(text, literals);
            }
            catch (FormatException)
            {
                var tag = text.Split(' ', 2)[0];
                await WriteLineAsync($"{(tag.Length > 0 ? tag : "*")} {CommandError}", cancellationToken);
                continue;
            }

            if (tokens.Count < 2 || tokens[0] is not string commandTag || tokens[1] is not string name)
            {
                await WriteLineAsync($"* {CommandError}", cancellationToken);
                continue;
            }

            var keepGoing = true;
            try
            {
                keepGoing = await ExecuteAsync(commandTag, name.ToUpperInvariant(), tokens.GetRange(2, tokens.Count - 2), cancellationToken);
            }
            catch (FormatException)
            {
                await WriteLineAsync($"{commandTag} {ArgumentError}", cancellationToken);
            }

            if (!keepGoing)
            {
                return;
            }
        }
    }

    [GeneratedRegex(@"\{(\d+)(\+?)\}$")]
    private static partial Regex LiteralAtEnd();

    [GeneratedRegex(@"^(BODY(?:\.PEEK)?)\[([^\]]*)\](?:<(\d+)(?:\.(\d+))?>)?$", RegexOptions.IgnoreCase)]
    private static partial Regex BodySection();

    private async Task<(string Display, string Text, Queue<byte[]> Literals)?> ReadCommandAsync(CancellationToken cancellationToken)
    {
        var display = new StringBuilder();
        var text = new StringBuilder();
        var literals = new Queue<byte[]>();
        while (true)
        {
            var line = await _connection.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return null;
            }

            display.Append(line);
            var literal = LiteralAtEnd().Match(line);
            if (!literal.Success)
            {
                text.Append(line);
                return (display.ToString(), text.ToString(), literals);
            }

            var length = long.Parse(literal.Groups[1].Value, CultureInfo.InvariantCulture);
            if (length > MaxLiteral)
            {
                throw new InvalidDataException($"Literal of {length} bytes is too large for the fake.");
            }

            text.Append(line, 0, literal.Index).Append(ImapCommandParser.LiteralMarker);
            if (literal.Groups[2].Value != "+")
            {
                await WriteLineAsync("+ Ready for additional command text.", cancellationToken);
            }

            literals.Enqueue(await _connection.ReadExactAsync((int)length, cancellationToken));
        }
    }

    private async Task<bool> ExecuteAsync(string tag, string name, List<object> args, CancellationToken cancellationToken)
    {
        if (_notConnected && name is not ("CAPABILITY" or "LOGOUT"))
        {
            await WriteLineAsync($"{tag} {NotConnected}", cancellationToken);
            return true;
        }

        switch (name)
        {
            case "CAPABILITY":
                await WriteLineAsync($"* CAPABILITY {(_user is null ? _server.CapabilitiesBeforeAuthentication : FakeExchangeImapServer.PostAuthCapabilities)}", cancellationToken);
                await WriteLineAsync($"{tag} OK CAPABILITY completed.", cancellationToken);
                return true;
            case "NOOP":
            case "CHECK":
                await ReportNewMessagesAsync(cancellationToken);
                await WriteLineAsync($"{tag} OK {name} completed.", cancellationToken);
                return true;
            case "LOGOUT":
                await WriteLineAsync("* BYE Microsoft Exchange Server IMAP4 server signing off.", cancellationToken);
                await WriteLineAsync($"{tag} OK LOGOUT completed.", cancellationToken);
                return false;
            case "ID":
                await WriteLineAsync("* ID (\"name\" \"Microsoft.Exchange.Imap4.Imap4Server\" \"version\" \"15.20\")", cancellationToken);
                await WriteLineAsync($"{tag} OK ID completed.", cancellationToken);
                return true;
            case "STARTTLS":
                await WriteLineAsync($"{tag} {InvalidState}", cancellationToken);
                return true;
            case "LOGIN":
                await WriteLineAsync(_user is null ? $"{tag} NO LOGIN failed." : $"{tag} {InvalidState}", cancellationToken);
                return true;
            case "AUTHENTICATE":
                await AuthenticateAsync(tag, args, cancellationToken);
                return true;
        }

        if (_user is null)
        {
            await WriteLineAsync($"{tag} {InvalidState}", cancellationToken);
            return true;
        }

        switch (name)
        {
            case "NAMESPACE":
                await WriteLineAsync("* NAMESPACE ((\"\" \"/\")) NIL NIL", cancellationToken);
                await WriteLineAsync($"{tag} OK NAMESPACE completed.", cancellationToken);
                return true;
            case "LIST":
            case "LSUB":
                await ListAsync(tag, name, args, cancellationToken);
                return true;
            case "SELECT":
            case "EXAMINE":
                await SelectAsync(tag, name, args, cancellationToken);
                return true;
            case "STATUS":
                await StatusAsync(tag, args, cancellationToken);
                return true;
            case "APPEND":
                await AppendAsync(tag, args, cancellationToken);
                return true;
            case "IDLE":
                await IdleAsync(tag, cancellationToken);
                return true;
        }

        if (_selected is null)
        {
            await WriteLineAsync($"{tag} {InvalidState}", cancellationToken);
            return true;
        }

        var uid = false;
        if (name == "UID")
        {
            if (args.Count == 0 || args[0] is not string uidCommand)
            {
                throw new FormatException("UID without a command.");
            }

            uid = true;
            name = uidCommand.ToUpperInvariant();
            args = args.GetRange(1, args.Count - 1);
        }

        switch (name)
        {
            case "FETCH":
                await FetchAsync(tag, args, uid, cancellationToken);
                return true;
            case "STORE":
                await StoreAsync(tag, args, uid, cancellationToken);
                return true;
            case "SEARCH":
                await SearchAsync(tag, args, uid, cancellationToken);
                return true;
            case "EXPUNGE" when !uid:
                await ExpungeAsync(cancellationToken);
                await WriteLineAsync($"{tag} OK EXPUNGE completed.", cancellationToken);
                return true;
            case "CLOSE" when !uid:
            case "UNSELECT" when !uid:
                if (name == "CLOSE" && !_readOnly)
                {
                    ExpungeDeleted();
                }

                _selected = null;
                await WriteLineAsync($"{tag} OK {name} completed.", cancellationToken);
                return true;
            default:
                await WriteLineAsync($"{tag} BAD Command Error. 12", cancellationToken);
                return true;
        }
    }

    private async Task AuthenticateAsync(string tag, List<object> args, CancellationToken cancellationToken)
    {
        if (_user is not null)
        {
            await WriteLineAsync($"{tag} {InvalidState}", cancellationToken);
            return;
        }

        if (args.Count is < 1 or > 2 || args[0] is not string mechanism)
        {
            throw new FormatException("AUTHENTICATE needs a mechanism.");
        }

        string? response;
        if (args.Count == 2)
        {
            if (!_server.SupportsSaslIr)
            {
                await WriteLineAsync($"{tag} {ArgumentError}", cancellationToken);
                return;
            }

            response = ImapCommandParser.AsString(args[1]);
        }
        else
        {
            await WriteLineAsync("+ ", cancellationToken);
            response = await _connection.ReadLineAsync(cancellationToken);
            if (response is null)
            {
                return;
            }

            _server.Commands.Add(response);
            if (response == "*")
            {
                await WriteLineAsync($"{tag} BAD AUTHENTICATE cancelled.", cancellationToken);
                return;
            }
        }

        if (!string.Equals(mechanism, "XOAUTH2", StringComparison.OrdinalIgnoreCase))
        {
            await WriteLineAsync($"{tag} NO AUTHENTICATE failed.", cancellationToken);
            return;
        }

        if (_server.XOAuth2.Verify(response) is { } user)
        {
            _user = user;
            await WriteLineAsync($"{tag} OK AUTHENTICATE completed.", cancellationToken);
        }
        else if (_server.XOAuth2.UnconnectedAppUser(response) is { } unconnected)
        {
            // An app-only token for a mailbox the app was not granted: Exchange accepts the login, and every
            // later command but CAPABILITY and LOGOUT gets "BAD User is authenticated but not connected."
            _user = unconnected;
            _notConnected = true;
            await WriteLineAsync($"{tag} OK AUTHENTICATE completed.", cancellationToken);
        }
        else if (_server.GmailStyleRefusal)
        {
            if (await FakeXOAuth2Verifier.PlayErrorChallengeAsync(_connection, "+", FakeExchangeImapServer.GmailChallengeJson, _server.Commands, cancellationToken))
            {
                await WriteLineAsync($"{tag} NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)", cancellationToken);
            }
        }
        else
        {
            await WriteLineAsync($"{tag} NO AUTHENTICATE failed.", cancellationToken);
        }
    }

    private async Task ListAsync(string tag, string name, List<object> args, CancellationToken cancellationToken)
    {
        if (args.Count != 2)
        {
            throw new FormatException("LIST needs a reference and a pattern.");
        }

        var reference = ImapCommandParser.AsString(args[0]) ?? throw new FormatException("Bad reference.");
        var pattern = ImapCommandParser.AsString(args[1]) ?? throw new FormatException("Bad pattern.");
        if (pattern.Length == 0)
        {
            await WriteLineAsync($"* {name} (\\Noselect \\HasChildren) \"/\" \"\"", cancellationToken);
        }
        else
        {
            var expression = "^" + Regex.Escape(reference + pattern).Replace(@"\*", ".*", StringComparison.Ordinal).Replace("%", "[^/]*", StringComparison.Ordinal) + "$";
            var exact = new Regex(expression, RegexOptions.CultureInvariant);
            var ignoringCase = new Regex(expression, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
            foreach (var mailbox in FakeExchangeImapServer.MailboxNames)
            {
                // INBOX is case-insensitive, other names are not.
                if (mailbox == FakeExchangeImapServer.Inbox ? ignoringCase.IsMatch(mailbox) : exact.IsMatch(mailbox))
                {
                    var attributes = mailbox switch
                    {
                        FakeExchangeImapServer.Inbox => @"\Marked \HasNoChildren",
                        FakeExchangeImapServer.SentItems when name == "LIST" => @"\HasNoChildren \Sent",
                        _ => @"\HasNoChildren",
                    };
                    await WriteLineAsync($"* {name} ({attributes}) \"/\" {Quote(mailbox)}", cancellationToken);
                }
            }
        }

        await WriteLineAsync($"{tag} OK {name} completed.", cancellationToken);
    }

    private async Task SelectAsync(string tag, string name, List<object> args, CancellationToken cancellationToken)
    {
        if (args.Count < 1)
        {
            throw new FormatException("SELECT needs a mailbox.");
        }

        _selected = null;
        var mailbox = FakeExchangeImapServer.CanonicalMailbox(ImapCommandParser.AsString(args[0]) ?? string.Empty);
        if (mailbox is null)
        {
            await WriteLineAsync($"{tag} NO [NONEXISTENT] Mailbox doesn't exist.", cancellationToken);
            return;
        }

        int exists;
        uint uidNext;
        int firstUnseen;
        lock (_server.Gate)
        {
            var messages = _server.MailboxLocked(mailbox);
            exists = messages.Count;
            uidNext = _server.UidNextLocked(mailbox);
            firstUnseen = messages.FindIndex(message => !message.Flags.Contains(@"\Seen")) + 1;
        }

        _selected = mailbox;
        _readOnly = name == "EXAMINE";
        _knownExists = exists;
        await WriteLineAsync($"* {exists} EXISTS", cancellationToken);
        await WriteLineAsync("* 0 RECENT", cancellationToken);
        await WriteLineAsync($"* FLAGS {MailboxFlags}", cancellationToken);
        await WriteLineAsync($"* OK [PERMANENTFLAGS {MailboxFlags}] Permanent flags", cancellationToken);
        if (firstUnseen > 0)
        {
            await WriteLineAsync($"* OK [UNSEEN {firstUnseen}] Is the first unseen message", cancellationToken);
        }

        await WriteLineAsync($"* OK [UIDVALIDITY {FakeExchangeImapServer.UidValidity}] UIDVALIDITY value", cancellationToken);
        await WriteLineAsync($"* OK [UIDNEXT {uidNext}] The next unique identifier value", cancellationToken);
        await WriteLineAsync($"{tag} OK [{(_readOnly ? "READ-ONLY" : "READ-WRITE")}] {name} completed.", cancellationToken);
    }

    private async Task StatusAsync(string tag, List<object> args, CancellationToken cancellationToken)
    {
        if (args.Count != 2 || args[1] is not List<object> items)
        {
            throw new FormatException("STATUS needs a mailbox and items.");
        }

        var mailbox = FakeExchangeImapServer.CanonicalMailbox(ImapCommandParser.AsString(args[0]) ?? string.Empty);
        if (mailbox is null)
        {
            await WriteLineAsync($"{tag} NO [NONEXISTENT] Mailbox doesn't exist.", cancellationToken);
            return;
        }

        var values = new List<string>();
        lock (_server.Gate)
        {
            var messages = _server.MailboxLocked(mailbox);
            foreach (var item in items.Select(item => ImapCommandParser.AsString(item)?.ToUpperInvariant()))
            {
                values.Add(item switch
                {
                    "MESSAGES" => $"MESSAGES {messages.Count}",
                    "RECENT" => "RECENT 0",
                    "UIDNEXT" => $"UIDNEXT {_server.UidNextLocked(mailbox)}",
                    "UIDVALIDITY" => $"UIDVALIDITY {FakeExchangeImapServer.UidValidity}",
                    "UNSEEN" => $"UNSEEN {messages.Count(message => !message.Flags.Contains(@"\Seen"))}",
                    _ => throw new FormatException($"Unknown STATUS item {item}."),
                });
            }
        }

        await WriteLineAsync($"* STATUS {Quote(mailbox)} ({string.Join(' ', values)})", cancellationToken);
        await WriteLineAsync($"{tag} OK STATUS completed.", cancellationToken);
    }

    private async Task AppendAsync(string tag, List<object> args, CancellationToken cancellationToken)
    {
        if (args.Count is < 2 or > 4 || args[^1] is not byte[] message)
        {
            throw new FormatException("APPEND needs a mailbox and a literal.");
        }

        var flags = new List<string>();
        string? date = null;
        foreach (var optional in args.GetRange(1, args.Count - 2))
        {
            if (optional is List<object> list)
            {
                flags.AddRange(list.Select(flag => ImapCommandParser.AsString(flag) ?? throw new FormatException("Bad flag.")));
            }
            else
            {
                date = ImapCommandParser.AsString(optional) ?? throw new FormatException("Bad date.");
            }
        }

        var mailbox = FakeExchangeImapServer.CanonicalMailbox(ImapCommandParser.AsString(args[0]) ?? string.Empty);
        if (mailbox is null)
        {
            await WriteLineAsync($"{tag} NO [TRYCREATE] Mailbox doesn't exist.", cancellationToken);
            return;
        }

        var uid = _server.Append(mailbox, message, flags, date);
        if (mailbox == _selected)
        {
            await ReportNewMessagesAsync(cancellationToken);
        }

        await WriteLineAsync($"{tag} OK [APPENDUID {FakeExchangeImapServer.UidValidity} {uid}] APPEND completed.", cancellationToken);
    }

    private async Task IdleAsync(string tag, CancellationToken cancellationToken)
    {
        await WriteLineAsync("+ IDLE accepted, awaiting DONE command.", cancellationToken);
        while (true)
        {
            var line = await _connection.ReadLineAsync(cancellationToken);
            if (line is null)
            {
                return;
            }

            _server.Commands.Add(line);
            if (string.Equals(line, "DONE", StringComparison.OrdinalIgnoreCase))
            {
                break;
            }
        }

        await ReportNewMessagesAsync(cancellationToken);
        await WriteLineAsync($"{tag} OK IDLE completed.", cancellationToken);
    }

    private async Task FetchAsync(string tag, List<object> args, bool uid, CancellationToken cancellationToken)
    {
        if (args.Count != 2 || args[0] is not string set)
        {
            throw new FormatException("FETCH needs a set and items.");
        }

        var items = args[1] switch
        {
            string single => single.ToUpperInvariant() switch
            {
                "FAST" or "ALL" => ["FLAGS", "INTERNALDATE", "RFC822.SIZE"],
                "FULL" => throw new FormatException("FULL is not supported by the fake."),
                _ => [single],
            },
            List<object> list => list.Select(item => item as string ?? throw new FormatException("Bad FETCH item.")).ToList(),
            _ => throw new FormatException("Bad FETCH items."),
        };
        if (uid && !items.Any(item => string.Equals(item, "UID", StringComparison.OrdinalIgnoreCase)))
        {
            items.Insert(0, "UID");
        }

        List<(int Sequence, FakeImapMessage Message)> selected;
        lock (_server.Gate)
        {
            selected = Resolve(set, _server.MailboxLocked(_selected!), uid);
        }

        foreach (var (sequence, message) in selected)
        {
            await WriteFetchAsync(sequence, message, items, cancellationToken);
        }

        await WriteLineAsync($"{tag} OK FETCH completed.", cancellationToken);
    }

    private async Task WriteFetchAsync(int sequence, FakeImapMessage message, List<string> items, CancellationToken cancellationToken)
    {
        var output = new MemoryStream();
        void Text(string text) => output.Write(Encoding.UTF8.GetBytes(text));
        void Literal(ReadOnlySpan<byte> bytes)
        {
            Text($"{{{bytes.Length}}}\r\n");
            output.Write(bytes);
        }

        Text($"* {sequence} FETCH (");
        var first = true;
        var setSeen = false;
        foreach (var item in items)
        {
            if (!first)
            {
                Text(" ");
            }

            first = false;
            var upper = item.ToUpperInvariant();
            switch (upper)
            {
                case "UID":
                    Text($"UID {message.Uid}");
                    continue;
                case "FLAGS":
                    Text($"FLAGS ({FlagsOf(message)})");
                    continue;
                case "RFC822.SIZE":
                    Text($"RFC822.SIZE {message.Bytes.Length}");
                    continue;
                case "INTERNALDATE":
                    Text($"INTERNALDATE \"{message.InternalDate.UtcDateTime.ToString("dd-MMM-yyyy HH:mm:ss", CultureInfo.InvariantCulture)} +0000\"");
                    continue;
                case "RFC822":
                    Text("RFC822 ");
                    Literal(message.Bytes);
                    setSeen = true;
                    continue;
                case "RFC822.HEADER":
                    Text("RFC822.HEADER ");
                    Literal(Section(message.Bytes, "HEADER"));
                    continue;
                case "RFC822.TEXT":
                    Text("RFC822.TEXT ");
                    Literal(Section(message.Bytes, "TEXT"));
                    setSeen = true;
                    continue;
            }

            var body = BodySection().Match(item);
            if (!body.Success)
            {
                throw new FormatException($"FETCH item {item} is not supported by the fake.");
            }

            var section = body.Groups[2].Value.ToUpperInvariant();
            var content = Section(message.Bytes, section);
            if (body.Groups[3].Success)
            {
                var offset = (int)Math.Min(long.Parse(body.Groups[3].Value, CultureInfo.InvariantCulture), content.Length);
                var count = body.Groups[4].Success ? (int)Math.Min(long.Parse(body.Groups[4].Value, CultureInfo.InvariantCulture), content.Length - offset) : content.Length - offset;
                Text($"BODY[{section}]<{offset}> ");
                Literal(content.AsSpan(offset, count));
            }
            else
            {
                Text($"BODY[{section}] ");
                Literal(content);
            }

            setSeen |= !body.Groups[1].Value.Contains(".PEEK", StringComparison.OrdinalIgnoreCase);
        }

        if (setSeen && !_readOnly)
        {
            bool added;
            lock (_server.Gate)
            {
                added = message.Flags.Add(@"\Seen");
            }

            if (added && !items.Any(item => string.Equals(item, "FLAGS", StringComparison.OrdinalIgnoreCase)))
            {
                Text($" FLAGS ({FlagsOf(message)})");
            }
        }

        Text(")\r\n");
        await _connection.WriteAsync(output.GetBuffer().AsMemory(0, (int)output.Length), cancellationToken);
    }

    private async Task StoreAsync(string tag, List<object> args, bool uid, CancellationToken cancellationToken)
    {
        if (args.Count != 3 || args[0] is not string set || args[1] is not string operation)
        {
            throw new FormatException("STORE needs a set, an operation and flags.");
        }

        var flags = args[2] switch
        {
            List<object> list => list.Select(flag => ImapCommandParser.AsString(flag) ?? throw new FormatException("Bad flag.")).ToList(),
            string single => [single],
            _ => throw new FormatException("Bad flags."),
        };
        operation = operation.ToUpperInvariant();
        var silent = operation.EndsWith(".SILENT", StringComparison.Ordinal);
        operation = silent ? operation[..^7] : operation;
        if (operation is not ("FLAGS" or "+FLAGS" or "-FLAGS"))
        {
            throw new FormatException("Bad STORE operation.");
        }

        if (_readOnly)
        {
            await WriteLineAsync($"{tag} NO STORE failed: the mailbox is read-only.", cancellationToken);
            return;
        }

        var updates = new List<string>();
        lock (_server.Gate)
        {
            foreach (var (sequence, message) in Resolve(set, _server.MailboxLocked(_selected!), uid))
            {
                if (operation == "FLAGS")
                {
                    message.Flags.Clear();
                }

                foreach (var flag in flags)
                {
                    if (operation == "-FLAGS")
                    {
                        message.Flags.Remove(flag);
                    }
                    else
                    {
                        message.Flags.Add(flag);
                    }
                }

                updates.Add(uid ? $"* {sequence} FETCH (UID {message.Uid} FLAGS ({FlagsOf(message)}))" : $"* {sequence} FETCH (FLAGS ({FlagsOf(message)}))");
            }
        }

        if (!silent)
        {
            foreach (var update in updates)
            {
                await WriteLineAsync(update, cancellationToken);
            }
        }

        await WriteLineAsync($"{tag} OK STORE completed.", cancellationToken);
    }

    private async Task SearchAsync(string tag, List<object> args, bool uid, CancellationToken cancellationToken)
    {
        if (args.Count != 1 || !string.Equals(args[0] as string, "ALL", StringComparison.OrdinalIgnoreCase))
        {
            throw new FormatException("The fake only supports SEARCH ALL.");
        }

        List<string> numbers;
        lock (_server.Gate)
        {
            var messages = _server.MailboxLocked(_selected!);
            numbers = [.. messages.Select((message, index) => uid ? message.Uid.ToString(CultureInfo.InvariantCulture) : (index + 1).ToString(CultureInfo.InvariantCulture))];
        }

        await WriteLineAsync(numbers.Count == 0 ? "* SEARCH" : $"* SEARCH {string.Join(' ', numbers)}", cancellationToken);
        await WriteLineAsync($"{tag} OK SEARCH completed.", cancellationToken);
    }

    private async Task ExpungeAsync(CancellationToken cancellationToken)
    {
        if (_readOnly)
        {
            return;
        }

        foreach (var sequence in ExpungeDeleted())
        {
            await WriteLineAsync($"* {sequence} EXPUNGE", cancellationToken);
        }
    }

    /// <summary>Removes \Deleted messages and returns the EXPUNGE sequence numbers to report, in order.</summary>
    private List<int> ExpungeDeleted()
    {
        var reports = new List<int>();
        lock (_server.Gate)
        {
            var messages = _server.MailboxLocked(_selected!);
            for (var i = 0; i < messages.Count;)
            {
                if (messages[i].Flags.Contains(@"\Deleted"))
                {
                    messages.RemoveAt(i);
                    reports.Add(i + 1);
                }
                else
                {
                    i++;
                }
            }

            _knownExists = messages.Count;
        }

        return reports;
    }

    private async Task ReportNewMessagesAsync(CancellationToken cancellationToken)
    {
        if (_selected is null)
        {
            return;
        }

        int count;
        lock (_server.Gate)
        {
            count = _server.MailboxLocked(_selected).Count;
        }

        if (count != _knownExists)
        {
            _knownExists = count;
            await WriteLineAsync($"* {count} EXISTS", cancellationToken);
        }
    }

    private static List<(int Sequence, FakeImapMessage Message)> Resolve(string set, List<FakeImapMessage> messages, bool uid)
    {
        var result = new SortedDictionary<int, FakeImapMessage>();
        var star = uid ? (messages.Count == 0 ? 0u : messages[^1].Uid) : (uint)messages.Count;
        uint Number(string text) => text == "*" ? star : uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : throw new FormatException($"Bad number {text}.");

        foreach (var part in set.Split(','))
        {
            var bounds = part.Split(':');
            if (bounds.Length > 2)
            {
                throw new FormatException($"Bad range {part}.");
            }

            var low = Number(bounds[0]);
            var high = bounds.Length == 2 ? Number(bounds[1]) : low;
            if (low > high)
            {
                (low, high) = (high, low);
            }

            if (!uid && high > messages.Count)
            {
                throw new FormatException($"Sequence number {high} beyond {messages.Count} messages.");
            }

            for (var i = 0; i < messages.Count; i++)
            {
                var key = uid ? messages[i].Uid : (uint)(i + 1);
                if (key >= low && key <= high)
                {
                    result[i + 1] = messages[i];
                }
            }
        }

        return [.. result.Select(pair => (pair.Key, pair.Value))];
    }

    private static byte[] Section(byte[] message, string section)
    {
        if (section.Length == 0)
        {
            return message;
        }

        var headerEnd = message.AsSpan().IndexOf("\r\n\r\n"u8);
        var split = headerEnd < 0 ? message.Length : headerEnd + 4;
        return section switch
        {
            "HEADER" => message[..split],
            "TEXT" => message[split..],
            _ => throw new FormatException($"Section {section} is not supported by the fake."),
        };
    }

    private string FlagsOf(FakeImapMessage message)
    {
        lock (_server.Gate)
        {
            return string.Join(' ', message.Flags);
        }
    }

    private static string Quote(string mailbox) =>
        mailbox.Any(c => c is ' ' or '"' or '\\' or '(' or ')' or '{' or '%' or '*') ? "\"" + mailbox.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"" : mailbox;

    private Task WriteLineAsync(string line, CancellationToken cancellationToken) => _connection.WriteLineAsync(line, cancellationToken);
}
