namespace EmailProxy.Imap;

/// <summary>A command the proxy answers itself, before login.</summary>
internal sealed record ImapCommand(string Tag, string Name, IReadOnlyList<ImapToken> Arguments)
{
    public override string ToString() => $"{Tag} {Name} ({Arguments.Count} arguments)";
}
