namespace EmailProxy.Bench;

/// <summary>What one relay-mode sample transfers.</summary>
internal enum RelayWorkload
{
    /// <summary>IMAP <c>FETCH 1 BODY[]</c> of the big message (upstream to client).</summary>
    ImapFetchBig,

    /// <summary>IMAP <c>FETCH 1:* BODY[]</c> of the folder of small messages (upstream to client, many literals).</summary>
    ImapFetchMany,

    /// <summary>POP3 <c>RETR 1</c> of the big message (upstream to client, dot-stuffed).</summary>
    Pop3Retr,

    /// <summary>SMTP <c>DATA</c> of the big message (client to upstream; Dovecot relays it to the sink).</summary>
    SmtpData,
}
