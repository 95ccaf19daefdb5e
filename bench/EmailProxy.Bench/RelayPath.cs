namespace EmailProxy.Bench;

/// <summary>How a relay-mode client reaches Dovecot.</summary>
internal enum RelayPath
{
    /// <summary>TLS straight to Dovecot: what the transfer costs with no relay at all.</summary>
    Direct,

    /// <summary>Through one socat process (no fork) to Dovecot's TLS port: the reference relay.</summary>
    Socat,

    /// <summary>Through the proxy, which logs in with XOAUTH2 and then relays.</summary>
    Proxy,
}
