namespace EmailProxy.Web;

/// <summary>The last successful mail login of an account with one protocol (<c>IMAP</c>, <c>SMTP</c>, <c>POP3</c>).</summary>
internal sealed record ProtocolLogin(string Protocol, DateTimeOffset At);
