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
        var change = new ListenerChange(kind, before.ListenOf(kind), before.TlsOf(kind), after.ListenOf(kind), after.TlsOf(kind));
        if (Equals(change.Before, change.After) && (change.After is null || change.BeforeTls == change.AfterTls))
        {
            return null;
        }
        return change;
    }

    /// <summary>The protocol's name as the logs and /readyz write it.</summary>
    public static string NameOf(MailListenerKind kind) => kind switch
    {
        MailListenerKind.Imap => "IMAP",
        MailListenerKind.Smtp => "SMTP",
        MailListenerKind.Pop => "POP3",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>For the reload's summary: "IMAP listener moved 127.0.0.1:1993 -> 127.0.0.1:2993".</summary>
    public override string ToString()
    {
        var name = NameOf(Kind);
        if (After is null)
        {
            return $"{name} listener off (was {Before})";
        }
        var tls = $"TLS {LocalTlsModeNames.Of(BeforeTls)} -> {LocalTlsModeNames.Of(AfterTls)}";
        if (Before is null)
        {
            return $"{name} listener on {After} (TLS {LocalTlsModeNames.Of(AfterTls)})";
        }
        if (Equals(Before, After))
        {
            return $"{name} listener on {After}: {tls}";
        }
        return BeforeTls == AfterTls ? $"{name} listener moved {Before} -> {After}" : $"{name} listener moved {Before} -> {After}, {tls}";
    }
}
