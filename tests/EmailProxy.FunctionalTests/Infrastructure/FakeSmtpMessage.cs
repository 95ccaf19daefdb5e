namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>A message the fake SMTP server accepted: envelope and the DATA bytes with dot-stuffing undone.</summary>
internal sealed record FakeSmtpMessage(string MailFrom, IReadOnlyList<string> Recipients, byte[] Data);
