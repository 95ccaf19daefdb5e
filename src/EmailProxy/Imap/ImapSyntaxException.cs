namespace EmailProxy.Imap;

/// <summary>A command line that is not IMAP; answered with BAD, and the session goes on.</summary>
internal sealed class ImapSyntaxException(string? tag, string message) : Exception(message)
{
    public string? Tag { get; } = tag;
}
