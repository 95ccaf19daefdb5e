namespace EmailProxy.Imap;

/// <summary>What an <see cref="ImapToken"/> is.</summary>
internal enum ImapTokenKind
{
    Atom,
    Quoted,
    Literal,
    ListStart,
    ListEnd,
}
