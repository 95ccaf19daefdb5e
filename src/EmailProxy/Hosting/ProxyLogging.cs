using EmailProxy.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace EmailProxy.Hosting;

/// <summary>The proxy's logging: the console in the configured format and level, the framework kept quiet.</summary>
internal static class ProxyLogging
{
    /// <param name="level">When given, log_level is read from it at each check instead of fixed from <paramref name="general"/>: a reload changes it (<see cref="LiveConfig"/>).</param>
    public static void Configure(ILoggingBuilder logging, GeneralOptions general, Func<LogLevel>? level = null)
    {
        logging.ClearProviders();
        if (level is null)
        {
            logging.SetMinimumLevel(general.LogLevel);
        }
        else
        {
            logging.SetMinimumLevel(LogLevel.Trace);
            logging.AddFilter((_, at) => at >= level());
        }
        // The framework's own request logs would print the redirect's query string, which holds
        // the authorization code: they stay at Warning whatever log_level says.
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("System", LogLevel.Warning);
        if (general.LogFormat == LogFormat.Json)
        {
            logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        else
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            });
        }
        // A port that cannot be bound is reported in one line by the command line, not as a stack
        // trace first: the console drops that one entry of the host, and nothing else.
        var console = logging.Services.Single(d => d.ServiceType == typeof(ILoggerProvider) && d.ImplementationType == typeof(ConsoleLoggerProvider));
        logging.Services.Remove(console);
        logging.Services.AddSingleton<ILoggerProvider>(services => new BindFailureLogFilter(new ConsoleLoggerProvider(
            services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>(), services.GetServices<ConsoleFormatter>())));
    }
}
