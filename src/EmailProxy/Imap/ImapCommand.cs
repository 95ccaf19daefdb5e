using System.Text;

namespace EmailProxy.Imap;

internal enum ImapTokenKind
{
    Atom,
    Quoted,
    Literal,
    ListStart,
    ListEnd,
}

/// <summary>One argument of a command: an atom, a quoted string (unescaped), a literal's bytes, or a parenthesis.</summary>
internal sealed record ImapToken(ImapTokenKind Kind, byte[] Value)
{
    public string Text => Encoding.UTF8.GetString(Value);

    public bool IsString => Kind is ImapTokenKind.Atom or ImapTokenKind.Quoted or ImapTokenKind.Literal;

    /// <summary>Argument values may be passwords: never printed.</summary>
    public override string ToString() => $"{Kind}({Value.Length} bytes)";
}

/// <summary>A command the proxy answers itself, before login.</summary>
internal sealed record ImapCommand(string Tag, string Name, IReadOnlyList<ImapToken> Arguments)
{
    public override string ToString() => $"{Tag} {Name} ({Arguments.Count} arguments)";
}

/// <summary>A command line that is not IMAP; answered with BAD, and the session goes on.</summary>
internal sealed class ImapSyntaxException(string? tag, string message) : Exception(message)
{
    public string? Tag { get; } = tag;
}

/// <summary>A line or literal past the limits; answered with BYE, and the connection is closed.</summary>
internal sealed class ImapLimitException(string message) : EmailProxy.Connections.ProtocolLimitException(message);
