using EmailProxy.Configuration;
using EmailProxy.Hosting;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Hosting;

public sealed class ProxyLoggingTests
{
    private const string HostCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    [Fact]
    public async Task Configure_BackgroundServiceFaults_TheHostsErrorIsLogged()
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        ProxyLogging.Configure(builder.Logging, new GeneralOptions());
        var recorder = new RecordingLoggerProvider();
        builder.Logging.AddProvider(recorder);
        builder.Services.AddHostedService<FaultingService>();
        builder.Services.Configure<HostOptions>(o => o.BackgroundServiceExceptionBehavior = BackgroundServiceExceptionBehavior.Ignore);
        using var host = builder.Build();

        await host.StartAsync();
        var logged = await recorder.WaitForAsync(e => e.Category == HostCategory && e.Level == LogLevel.Error).Guarded();
        await host.StopAsync();

        Assert.IsType<InvalidOperationException>(logged.Exception);
        Assert.Equal(FaultingService.Failure, logged.Exception.Message);
    }

    [Fact]
    public void Configure_LiveLevel_ChangedLevelTakesEffectForLoggersAlreadyMade()
    {
        var level = LogLevel.Information;
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        ProxyLogging.Configure(builder.Logging, new GeneralOptions { LogLevel = LogLevel.Warning }, () => level);
        using var host = builder.Build();
        var log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EmailProxy.Accounts.LoginService");
        var framework = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Microsoft.AspNetCore.Hosting.Diagnostics");
        Assert.True(log.IsEnabled(LogLevel.Information));
        Assert.False(log.IsEnabled(LogLevel.Debug));

        level = LogLevel.Debug;

        Assert.True(log.IsEnabled(LogLevel.Debug));
        Assert.False(log.IsEnabled(LogLevel.Trace));
        Assert.False(framework.IsEnabled(LogLevel.Information));
    }

    private sealed class FaultingService : BackgroundService
    {
        public const string Failure = "the background service failed";

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            await Task.Yield();
            throw new InvalidOperationException(Failure);
        }
    }
}
