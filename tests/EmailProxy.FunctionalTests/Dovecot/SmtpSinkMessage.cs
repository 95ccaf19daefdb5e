namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>One message the <see cref="SmtpSink"/> took: envelope and the DATA bytes, dot-unstuffed, without the final dot line.</summary>
internal sealed record SmtpSinkMessage(string MailFrom, IReadOnlyList<string> Recipients, byte[] Data);
