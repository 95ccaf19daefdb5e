using EmailProxy.Connections;

namespace EmailProxy.Imap;

/// <summary>A line or literal past the limits; answered with BYE, and the connection is closed.</summary>
internal sealed class ImapLimitException(string message) : ProtocolLimitException(message);
