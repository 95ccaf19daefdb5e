namespace EmailProxy.Configuration;

/// <summary>An account's <c>smtp_via</c>: how the SMTP front delivers its mail after AUTH.</summary>
internal enum SmtpVia
{
    /// <summary>Through the upstream SMTP server (XOAUTH2), bytes relayed as they are.</summary>
    Smtp,

    /// <summary>Through Microsoft Graph sendMail: the proxy is the SMTP server after AUTH; no upstream SMTP connection.</summary>
    Graph,

    /// <summary>SMTP, switching the account to Graph when Exchange answers 5.7.139 (SMTP AUTH disabled).</summary>
    Auto,
}
