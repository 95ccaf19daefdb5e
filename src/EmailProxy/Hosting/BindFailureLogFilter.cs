using Microsoft.Extensions.Logging;

namespace EmailProxy.Hosting;

/// <summary>
/// Wraps the console logger provider to drop one entry: the host's "Hosting failed to start"
/// (<c>HostedServiceStartupFaulted</c>, event 11 of <c>Microsoft.Extensions.Hosting.Internal.Host</c>)
/// when the failure is the <see cref="IOException"/> Kestrel throws for a port it cannot bind. The
/// command line reports that one in a single line ("cannot listen: ..."); without this it would
/// come first as a stack trace. Every other entry of the host, errors included, passes.
/// </summary>
internal sealed class BindFailureLogFilter(ILoggerProvider inner) : ILoggerProvider, ISupportExternalScope
{
    public const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>Microsoft.Extensions.Hosting's LoggerEventIds.HostedServiceStartupFaulted.</summary>
    public const int HostedServiceStartupFaulted = 11;

    public static bool IsReportedBindFailure(EventId eventId, Exception? exception) =>
        eventId.Id == HostedServiceStartupFaulted && exception is IOException;

    public ILogger CreateLogger(string categoryName)
    {
        var logger = inner.CreateLogger(categoryName);
        return categoryName == HostCategory ? new BindFailureLogFilterLogger(logger) : logger;
    }

    public void SetScopeProvider(IExternalScopeProvider scopeProvider)
    {
        if (inner is ISupportExternalScope scoped)
        {
            scoped.SetScopeProvider(scopeProvider);
        }
    }

    public void Dispose() => inner.Dispose();
}
