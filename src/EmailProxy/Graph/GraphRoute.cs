using EmailProxy.Configuration;
using EmailProxy.Upstream;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Graph;

/// <summary>
/// The SMTP front's way to Microsoft Graph: whether an account sends through it (<c>smtp_via</c>, and an
/// <c>auto</c> account's switch after Exchange's 5.7.139), the login that stands for the upstream one
/// (a Graph token must be had: a missing consent is told at AUTH, not at the end of DATA), and the delivery.
/// </summary>
internal sealed partial class GraphRoute(GraphTokens tokens, GraphActivity activity, GraphDelivery delivery, LiveConfig live, ILogger<GraphRoute> log)
{
    /// <summary>Exchange's enhanced code for "SMTP AUTH is disabled" (and for Conditional Access refusals).</summary>
    public const string SmtpAuthDisabledCode = "5.7.139";

    public GraphDelivery Delivery { get; } = delivery;

    public GraphActivity Activity { get; } = activity;

    public bool UsesGraph(AccountOptions account) => Activity.UsesGraph(account);

    /// <summary>Whether an <c>auto</c> account's SMTP refusal is Exchange's "SMTP AUTH is disabled".</summary>
    public static bool IsSmtpAuthDisabled(UpstreamLoginResult result) =>
        result.RejectedText?.Contains(SmtpAuthDisabledCode, StringComparison.Ordinal) == true;

    /// <summary>An <c>auto</c> account switches to Graph from now on; logged once.</summary>
    public void Switch(AccountOptions account, string smtpRefusal)
    {
        if (Activity.Switch(account.Name, smtpRefusal))
        {
            LogSwitched(log, account.Name, smtpRefusal);
        }
    }

    /// <summary>A login served through Graph: accepted when a Graph token can be had, else refused with the fix.</summary>
    public async Task<UpstreamLoginResult> LoginAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var token = await tokens.GetAsync(account, cancellationToken);
        if (token.AccessToken is not null)
        {
            return UpstreamLoginResult.Graph();
        }
        return token.Temporary
            ? UpstreamLoginResult.Unavailable($"no Microsoft Graph token: {token.Failure}")
            : UpstreamLoginResult.Rejected($"no Microsoft Graph token to send with: {token.Failure}", tokenRefused: false) with { Worded = true };
    }

    /// <summary>Delivers one message of <paramref name="account"/> (its <c>[server]</c>'s ca_file is trusted for graph_url too); returns the SMTP reply.</summary>
    public Task<string> SendAsync(AccountOptions account, MessageSpool spool, GraphEnvelope envelope, CancellationToken cancellationToken) =>
        Delivery.SendAsync(account, live.Current.Servers.GetValueOrDefault(account.ServerName), spool, envelope, cancellationToken);

    [LoggerMessage(EventId = 2420, EventName = "GraphSwitched", Level = LogLevel.Warning,
        Message = "Account {Account} (smtp_via = auto) now sends through Microsoft Graph: Exchange refused SMTP AUTH ({Refusal})")]
    private static partial void LogSwitched(ILogger logger, string account, string refusal);
}
