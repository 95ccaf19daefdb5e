namespace EmailProxy.Web;

/// <summary>How many mail client sessions of one protocol are open now.</summary>
internal sealed record ProtocolSessions(string Protocol, long Open);
