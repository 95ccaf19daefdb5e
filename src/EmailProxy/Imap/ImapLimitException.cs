using EmailProxy.Connections;

namespace EmailProxy.Imap;

/// <summary>
/// A command past the reader's limits (a line, its bytes, literals, tokens or nesting); the message
/// says which, for a person. Answered with BYE, and the connection is closed.
/// </summary>
internal sealed class ImapLimitException(string message) : ProtocolLimitException(message);
