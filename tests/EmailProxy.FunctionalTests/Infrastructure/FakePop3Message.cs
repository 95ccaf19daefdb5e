namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// A message in the maildrop of <see cref="FakeExchangePop3Server"/>: <paramref name="Number"/> is its 1-based position
/// in the order of <see cref="FakeExchangePop3Server.AddMessage"/>, <paramref name="Uid"/> its UIDL value.
/// </summary>
internal sealed record FakePop3Message(int Number, string Uid, byte[] Bytes);
