namespace EmailProxy.Bench;

/// <summary>A proxy started by the relay mode: its process and its three mail ports.</summary>
internal sealed record RelayProxy(ProxyInstance Instance, int ImapPort, int PopPort, int SmtpPort, bool ClientTls);
