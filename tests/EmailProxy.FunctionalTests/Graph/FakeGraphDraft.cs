namespace EmailProxy.FunctionalTests.Graph;

/// <summary>A draft on <see cref="FakeGraphServer"/>: made from MIME, attachments added, not sent yet.</summary>
internal sealed class FakeGraphDraft(string user, byte[] mime)
{
    public string User { get; } = user;

    public byte[] Mime { get; } = mime;

    public List<FakeGraphAttachment> Attachments { get; } = [];

    /// <summary>PATCHed with PidTagDeleteAfterSubmit (<c>Boolean 0x0E01</c> = true): once sent, no copy stays in Sent Items.</summary>
    public bool DeleteAfterSubmit { get; set; }
}
