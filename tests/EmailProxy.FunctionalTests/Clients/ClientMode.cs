namespace EmailProxy.FunctionalTests.Clients;

/// <summary>How a real client reaches the proxy's listener.</summary>
public enum ClientMode
{
    /// <summary>Plaintext on the <c>auto</c> listener; the client is told not to upgrade.</summary>
    Plain,

    /// <summary>Implicit TLS on the <c>auto</c> listener (sniffed from the ClientHello), verifying the proxy's CA.</summary>
    Implicit,

    /// <summary>STARTTLS/STLS on the <c>starttls</c> listener, verifying the proxy's CA.</summary>
    StartTls,

    /// <summary>
    /// Implicit TLS on an <c>auto</c> listener of a proxy whose CA an earlier version made (its name constraints permit
    /// no DNS name 127.0.0.1, so the server certificate names 127.0.0.1 by its common name only), verifying that CA.
    /// </summary>
    EarlierCa,
}
