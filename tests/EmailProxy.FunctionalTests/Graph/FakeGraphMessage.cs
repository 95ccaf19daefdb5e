namespace EmailProxy.FunctionalTests.Graph;

/// <summary>A message <see cref="FakeGraphServer"/> accepted: the mailbox it was sent as and its MIME bytes (base64 decoded).</summary>
internal sealed record FakeGraphMessage(string User, byte[] Mime);
