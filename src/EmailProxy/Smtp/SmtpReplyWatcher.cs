using System.Text;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Diagnostics;
using EmailProxy.Providers;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Smtp;

/// <summary>
/// Watches the replies an SMTP upstream sends through the relay after the login, without changing
/// them, for the refusals the proxy has a fix for: Exchange refuses Send As only at <c>MAIL FROM</c> or
/// at the end of <c>DATA</c>, long after the login the proxy answered. The first such reply line of a
/// session is logged once, with the fix from <see cref="ProviderErrorMapping.SendAsFix"/>, and becomes
/// the account's last error on the status page (<see cref="AccountActivity.AfterLoginError"/>).
/// <para>
/// Called by the relay's upstream-to-client pump with each chunk, in order, on one task at a time; a
/// chunk may end anywhere in a line. Only lines that start with <c>4</c> or <c>5</c> are gathered, up to
/// <see cref="MaxLineLength"/> bytes (a longer one is dropped); the rest is a scan for the line end.
/// After the report the watcher looks at nothing more.
/// </para>
/// </summary>
internal sealed partial class SmtpReplyWatcher(AccountOptions account, string client, ILogger log, AccountActivity? activity)
{
    /// <summary>The longest reply line gathered (RFC 5321 allows 512 bytes; Exchange's are shorter); a longer one is dropped.</summary>
    public const int MaxLineLength = 1024;

    /// <summary>How much of the reply the log and the status page quote.</summary>
    private const int MaxQuotedLength = 300;

    private byte[]? _line;
    private int _length;
    private bool _skipping;
    private bool _atLineStart = true;

    /// <summary>The refused reply line reported (sanitised), or null while none was.</summary>
    public string? Reported { get; private set; }

    /// <summary>Looks at one chunk the upstream sent the client; never throws, keeps nothing of the span.</summary>
    public void Observe(ReadOnlySpan<byte> chunk)
    {
        while (Reported is null && !chunk.IsEmpty)
        {
            if (_atLineStart)
            {
                _atLineStart = false;
                _skipping = chunk[0] is not ((byte)'4' or (byte)'5');
                _length = 0;
            }
            var end = chunk.IndexOf((byte)'\n');
            var part = end < 0 ? chunk : chunk[..end];
            if (!_skipping)
            {
                if (_length + part.Length > MaxLineLength)
                {
                    _skipping = true;
                }
                else
                {
                    _line ??= new byte[MaxLineLength];
                    part.CopyTo(_line.AsSpan(_length));
                    _length += part.Length;
                }
            }
            if (end < 0)
            {
                return;
            }
            if (!_skipping)
            {
                Examine(_line.AsSpan(0, _length));
            }
            _atLineStart = true;
            chunk = chunk[(end + 1)..];
        }
    }

    private void Examine(ReadOnlySpan<byte> line)
    {
        if (line.EndsWith("\r"u8))
        {
            line = line[..^1];
        }
        // A reply line: three digits, then a space (the last line) or a hyphen (one before it).
        if (line.Length < 4 || !char.IsAsciiDigit((char)line[1]) || !char.IsAsciiDigit((char)line[2]) || line[3] is not ((byte)' ' or (byte)'-'))
        {
            return;
        }
        var reply = ClientText.Sanitize(Encoding.UTF8.GetString(line), MaxQuotedLength);
        if (ProviderErrorMapping.SendAsFix(account, reply) is not { } fix)
        {
            return;
        }
        Reported = reply;
        SendAsRefused(log, client, account.Name, reply, fix);
        activity?.AfterLoginError(account.Name, "SMTP", $"the server refused to send as the message's sender: {reply}", fix);
    }

    [LoggerMessage(EventId = 1010, EventName = "SendAsRefused", Level = LogLevel.Warning,
        Message = "SMTP session from {Client} for account {Account}: the server refused to send as the message's sender: {Reply}. {Fix}")]
    private static partial void SendAsRefused(ILogger logger, string client, string account, string reply, string fix);
}
