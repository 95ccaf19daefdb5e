using EmailProxy.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Providers;

/// <summary>
/// Reads the discovery document of every <c>issuer</c> the configuration names, off the start's path: at start,
/// then every <see cref="Interval"/> those still unread (a failed read, an issuer a reload added), so that the status
/// page's sign-in button and the first login find the endpoints. Logins and sign-ins read a missing document
/// themselves too (<see cref="OAuth2.OAuthClient.EnsureDiscoveredAsync"/>): this only saves them the wait.
/// </summary>
internal sealed partial class IssuerDiscoveryWarmup(LiveConfig config, IssuerDiscovery discovery, TimeProvider time, ILogger<IssuerDiscoveryWarmup> log) : BackgroundService
{
    public static readonly TimeSpan Interval = TimeSpan.FromMinutes(1);

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
        var issuers = config.Current.Accounts.Values.Select(a => a.Discovery).OfType<IssuerMetadata>().Distinct().Where(i => i.NeedsRead).ToList();
        foreach (var issuer in issuers)
        {
            var problem = await discovery.EnsureAsync(issuer, cancellationToken);
            if (problem is null)
            {
                LogRead(log, issuer.Issuer.OriginalString);
            }
            else
            {
                LogFailed(log, issuer.Issuer.OriginalString, problem);
            }
        }
    }

    [LoggerMessage(EventId = 2150, EventName = "DiscoveryRead", Level = LogLevel.Information,
        Message = "Read the OpenID discovery document of issuer {Issuer}")]
    private static partial void LogRead(ILogger logger, string issuer);

    [LoggerMessage(EventId = 2151, EventName = "DiscoveryFailed", Level = LogLevel.Warning,
        Message = "The OpenID discovery document of issuer {Issuer} cannot be used: {Problem}; logins of its accounts try again, and so does the proxy every minute")]
    private static partial void LogFailed(ILogger logger, string issuer, string problem);
}
