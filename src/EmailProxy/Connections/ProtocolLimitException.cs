namespace EmailProxy.Connections;

/// <summary>A peer went past one of the protocol's limits (line length, literal size): the connection is closed with the protocol's last words.</summary>
internal class ProtocolLimitException(string message) : Exception(message);
