namespace EmailProxy.FunctionalTests.Graph;

/// <summary>
/// A message <see cref="FakeGraphServer"/> sent: the mailbox it was sent as, its MIME bytes (base64
/// decoded; for a draft, the MIME it was made from) and the attachments added to the draft afterwards.
/// </summary>
internal sealed record FakeGraphMessage(string User, byte[] Mime)
{
    public IReadOnlyList<FakeGraphAttachment> Attachments { get; init; } = [];

    /// <summary>Sent from a draft marked PidTagDeleteAfterSubmit (the property the fake recorded).</summary>
    public bool DeleteAfterSubmit { get; init; }
}
