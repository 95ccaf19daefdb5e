using System.Text;

namespace EmailProxy.Imap;

/// <summary>One argument of a command: an atom, a quoted string (unescaped), a literal's bytes, or a parenthesis.</summary>
internal sealed record ImapToken(ImapTokenKind Kind, byte[] Value)
{
    public string Text => Encoding.UTF8.GetString(Value);

    public bool IsString => Kind is ImapTokenKind.Atom or ImapTokenKind.Quoted or ImapTokenKind.Literal;

    /// <summary>Argument values may be passwords: never printed.</summary>
    public override string ToString() => $"{Kind}({Value.Length} bytes)";
}
