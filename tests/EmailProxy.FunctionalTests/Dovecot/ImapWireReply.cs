namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// Everything a server sent up to and including the tagged line of one command: the untagged responses (a literal
/// in one shown as its <c>{n}</c> marker), continuation requests (<c>+ ...</c>) and the literals' exact bytes, in order.
/// </summary>
internal sealed record ImapWireReply(string Tagged, IReadOnlyList<string> Untagged, IReadOnlyList<string> Continuations, IReadOnlyList<byte[]> Literals)
{
    /// <summary>The whole reply, for assertion messages.</summary>
    public string Describe() => string.Join(" | ", [.. Continuations, .. Untagged, Tagged]);
}
