namespace EmailProxy.Configuration;

/// <summary>The <c>local_tls</c> values (and <c>imap_tls</c>, <c>smtp_tls</c>, <c>pop_tls</c> per listener): TLS towards the mail clients.</summary>
internal enum LocalTlsMode
{
    /// <summary><c>auto</c>: implicit TLS sniffed from the ClientHello on the same port, otherwise plaintext; STARTTLS/STLS not advertised.</summary>
    Auto,

    /// <summary><c>off</c>: plaintext only.</summary>
    Off,

    /// <summary><c>starttls</c>: plaintext greeting, STARTTLS/STLS advertised; no sniffing.</summary>
    StartTls,

    /// <summary><c>implicit</c>: TLS only, from the first byte.</summary>
    Implicit,
}
