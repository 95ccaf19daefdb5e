namespace EmailProxy.FunctionalTests.Graph;

/// <summary>An attachment added to a draft (in one request or through an upload session): its name, type and bytes.</summary>
internal sealed record FakeGraphAttachment(string Name, string ContentType, byte[] Content);
