namespace EmailProxy.Configuration;

/// <summary>The three mail listeners, for the keys that exist once per listener (<c>*_listen</c>, <c>*_tls</c>).</summary>
internal enum MailListenerKind
{
    Imap,
    Smtp,
    Pop,
}
