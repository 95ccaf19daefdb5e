using System.Net;

namespace EmailProxy.Configuration;

/// <summary>
/// One mail listener whose address or local TLS mode a reload changes, or that it turns on or off
/// (null end point: off). Such a listener is rebound; the others are not touched.
/// </summary>
internal sealed record ListenerChange(MailListenerKind Kind, IPEndPoint? Before, LocalTlsMode BeforeTls, IPEndPoint? After, LocalTlsMode AfterTls)
{
    /// <summary>The listener's change, or null when a reload leaves it as it is.</summary>
    public static ListenerChange? Of(MailListenerKind kind, GeneralOptions before, GeneralOptions after)
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        var change = new ListenerChange(kind, ListenOf(kind, before), before.TlsOf(kind), ListenOf(kind, after), after.TlsOf(kind));
        if (Equals(change.Before, change.After) && (change.After is null || change.BeforeTls == change.AfterTls))
        {
            return null;
        }
        return change;
    }

    /// <summary>The listener's address in <paramref name="general"/>, or null when it is off.</summary>
    public static IPEndPoint? ListenOf(MailListenerKind kind, GeneralOptions general)
    {
        ArgumentNullException.ThrowIfNull(general);
        return kind switch
        {
            MailListenerKind.Imap => general.ImapListen,
            MailListenerKind.Smtp => general.SmtpListen,
            MailListenerKind.Pop => general.PopListen,
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>The protocol's name as the logs and /readyz write it.</summary>
    public static string NameOf(MailListenerKind kind) => kind switch
    {
        MailListenerKind.Imap => "IMAP",
        MailListenerKind.Smtp => "SMTP",
        MailListenerKind.Pop => "POP3",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The mode as the configuration file writes it.</summary>
    public static string WordOf(LocalTlsMode mode) => mode switch
    {
        LocalTlsMode.Auto => "auto",
        LocalTlsMode.Off => "off",
        LocalTlsMode.StartTls => "starttls",
        LocalTlsMode.Implicit => "implicit",
        _ => mode.ToString(),
    };

    /// <summary>For the reload's summary: "IMAP listener moved 127.0.0.1:1993 -> 127.0.0.1:2993".</summary>
    public override string ToString()
    {
        var name = NameOf(Kind);
        if (After is null)
        {
            return $"{name} listener off (was {Before})";
        }
        var tls = $"TLS {WordOf(BeforeTls)} -> {WordOf(AfterTls)}";
        if (Before is null)
        {
            return $"{name} listener on {After} (TLS {WordOf(AfterTls)})";
        }
        if (Equals(Before, After))
        {
            return $"{name} listener on {After}: {tls}";
        }
        return BeforeTls == AfterTls ? $"{name} listener moved {Before} -> {After}" : $"{name} listener moved {Before} -> {After}, {tls}";
    }
}
