namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>A message a client stored with APPEND, as received byte for byte.</summary>
internal sealed record FakeAppendedMessage(string Mailbox, uint Uid, IReadOnlyList<string> Flags, string? InternalDate, byte[] Bytes);
