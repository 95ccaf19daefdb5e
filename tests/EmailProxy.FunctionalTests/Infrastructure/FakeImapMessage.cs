namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>A message stored in a mailbox of <see cref="FakeExchangeImapServer"/>.</summary>
internal sealed class FakeImapMessage(uint uid, byte[] bytes, DateTimeOffset internalDate, IEnumerable<string> flags)
{
    public uint Uid { get; } = uid;

    public byte[] Bytes { get; } = bytes;

    public DateTimeOffset InternalDate { get; } = internalDate;

    /// <summary>Flags; guarded by the server's lock.</summary>
    public HashSet<string> Flags { get; } = new(flags, StringComparer.OrdinalIgnoreCase);
}
