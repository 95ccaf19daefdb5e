using EmailProxy.Cli;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Cli;

/// <summary>
/// The progress line of <c>emailproxy auth</c> on a fake clock: to a log or pipe, a new line at most every
/// <see cref="SignInProgress.LineInterval"/>; to a terminal, the same line rewritten in place each second and
/// blanked at the end.
/// </summary>
public sealed class SignInProgressTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 6, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task RunAsync_NotLive_ALineAtTheStartThenNoneUntil30SecondsLater()
    {
        var time = new FakeTimeProvider(Start);
        using var output = new SignalingWriter();
        using var stop = new CancellationTokenSource();
        var run = new SignInProgress(output, live: false, time).RunAsync(Start.AddMinutes(5), stop.Token);

        Assert.Equal("waiting for the sign-in… 5:00 left", await output.NextAsync().Guarded());
        // 29 ticks write nothing; the 30th writes the next line (a line at 0:29 would be "4:31 left").
        time.Advance(TimeSpan.FromSeconds(29));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("waiting for the sign-in… 4:30 left", await output.NextAsync().Guarded());
        await stop.CancelAsync();
        await run.Guarded();

        Assert.Equal(["waiting for the sign-in… 5:00 left", "waiting for the sign-in… 4:30 left", ""], output.ToString().Split(Environment.NewLine));
    }

    [Fact]
    public async Task RunAsync_Live_RewritesTheLineInPlaceEachSecondAndBlanksItAtTheEnd()
    {
        var time = new FakeTimeProvider(Start);
        using var output = new SignalingWriter();
        using var stop = new CancellationTokenSource();
        var run = new SignInProgress(output, live: true, time).RunAsync(Start.AddMinutes(5), stop.Token);

        Assert.Equal("\rwaiting for the sign-in… 5:00 left", await output.NextAsync().Guarded());
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal("\rwaiting for the sign-in… 4:59 left", await output.NextAsync().Guarded());
        await stop.CancelAsync();
        await run.Guarded();

        var blank = new string(' ', "waiting for the sign-in… 4:59 left".Length);
        Assert.Equal($"\rwaiting for the sign-in… 5:00 left\rwaiting for the sign-in… 4:59 left\r{blank}\r", output.ToString());
    }
}
