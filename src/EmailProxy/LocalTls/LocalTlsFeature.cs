namespace EmailProxy.LocalTls;

/// <summary>Set on a connection once it runs under TLS (implicit or after STARTTLS/STLS).</summary>
internal sealed class LocalTlsFeature(TlsTransport transport)
{
    public TlsTransport Transport { get; } = transport;
}
