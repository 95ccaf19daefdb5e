namespace EmailProxy.Configuration;

/// <summary>The <c>local_tls</c> values: TLS towards the mail clients.</summary>
internal enum LocalTlsMode
{
    /// <summary><c>auto</c>: implicit TLS sniffed on the IMAP and POP ports, STARTTLS offered.</summary>
    Auto,

    /// <summary><c>off</c>: plaintext only.</summary>
    Off,
}
