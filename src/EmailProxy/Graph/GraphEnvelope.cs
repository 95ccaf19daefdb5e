namespace EmailProxy.Graph;

/// <summary>An SMTP transaction's envelope: MAIL FROM's address (empty for the null sender) and RCPT TO's, in order.</summary>
internal sealed record GraphEnvelope(string From, IReadOnlyList<string> Recipients);
