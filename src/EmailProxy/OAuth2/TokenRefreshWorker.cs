using EmailProxy.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EmailProxy.OAuth2;

/// <summary>
/// Refreshes tokens before logins need them: at start and every <see cref="Interval"/>, each
/// signed-in account (browser or device code) whose access token would fall under the refresh margin before the next round,
/// and each app-only (client credentials) account's token, renewed with a new client-credentials request.
/// A login then never waits for the token endpoint when it need not, and a refresh token is used
/// (and rotated) at least every hour or so, far from Microsoft's 90-day inactivity limit.
/// Failures are logged; the next login or round tries again, and none stops the proxy.
/// </summary>
internal sealed partial class TokenRefreshWorker(LiveConfig config, TokenService tokens, TimeProvider time, ILogger<TokenRefreshWorker> log) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(5);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Interval, time);
        do
        {
            await RunOnceAsync(stoppingToken);
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    internal async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        // Every flow: browser and device-code sign-ins leave refresh tokens, app-only accounts get a new token.
        // Accounts made from templates too; a token_from account has no tokens of its own (its delegate's are refreshed).
        foreach (var account in config.Current.AllAccounts.Where(account => account.TokenFrom is null))
        {
            try
            {
                await tokens.RefreshIfDueAsync(account, Interval, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(log, e, account.Name);
            }
        }
    }

    [LoggerMessage(EventId = 2201, EventName = "BackgroundRefreshFailed", Level = LogLevel.Error,
        Message = "The background token refresh of account {Account} failed unexpectedly; logins will refresh on demand")]
    private static partial void LogFailed(ILogger logger, Exception exception, string account);
}
