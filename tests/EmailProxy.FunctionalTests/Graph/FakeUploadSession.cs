namespace EmailProxy.FunctionalTests.Graph;

/// <summary>An attachment upload session on <see cref="FakeGraphServer"/>: the bytes so far, which must come in order.</summary>
internal sealed class FakeUploadSession(FakeGraphDraft draft, string name, string contentType, long size)
{
    public FakeGraphDraft Draft { get; } = draft;
    public string Name { get; } = name;
    public string ContentType { get; } = contentType;
    public long Size { get; } = size;
    public MemoryStream Received { get; } = new();
}
