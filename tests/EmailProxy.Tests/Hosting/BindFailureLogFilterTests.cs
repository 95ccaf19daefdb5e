using EmailProxy.Hosting;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Hosting;

public sealed class BindFailureLogFilterTests
{
    private static readonly EventId StartupFaulted = new(BindFailureLogFilter.HostedServiceStartupFaulted, "HostedServiceStartupFaulted");

    [Fact]
    public void CreateLogger_HostStartupFaultedWithBindFailure_IsDropped()
    {
        var (recorder, filter) = Create();

        Write(filter.CreateLogger(BindFailureLogFilter.HostCategory), StartupFaulted, new IOException("Failed to bind to address"), "Hosting failed to start");

        Assert.Empty(recorder.Entries);
    }

    [Fact]
    public void CreateLogger_HostStartupFaultedWithOtherException_Passes()
    {
        var (recorder, filter) = Create();

        Write(filter.CreateLogger(BindFailureLogFilter.HostCategory), StartupFaulted, new InvalidOperationException("a service failed"), "Hosting failed to start");

        var entry = Assert.Single(recorder.Entries);
        Assert.IsType<InvalidOperationException>(entry.Exception);
    }

    [Fact]
    public void CreateLogger_OtherHostEventWithIOException_Passes()
    {
        var (recorder, filter) = Create();

        Write(filter.CreateLogger(BindFailureLogFilter.HostCategory), new EventId(9, "BackgroundServiceFaulted"), new IOException("disk"), "BackgroundService failed");

        Assert.Equal(9, Assert.Single(recorder.Entries).EventId.Id);
    }

    [Fact]
    public void CreateLogger_OtherCategorySameEvent_Passes()
    {
        var (recorder, filter) = Create();

        Write(filter.CreateLogger("EmailProxy"), StartupFaulted, new IOException("disk"), "something else");

        Assert.Equal("EmailProxy", Assert.Single(recorder.Entries).Category);
    }

    private static void Write(ILogger logger, EventId eventId, Exception exception, string message) =>
        logger.Log(LogLevel.Error, eventId, message, exception, (text, _) => text);

    private static (RecordingLoggerProvider Recorder, BindFailureLogFilter Filter) Create()
    {
        var recorder = new RecordingLoggerProvider();
        return (recorder, new BindFailureLogFilter(recorder));
    }
}
