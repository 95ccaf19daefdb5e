using System.Net;
using EmailProxy.Accounts;
using EmailProxy.Connections;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Accounts;

public sealed class LoginThrottleTests
{
    private static readonly IPAddress Guesser = IPAddress.Parse("192.0.2.7");

    private readonly TimerWatchingTimeProvider _time = new();

    [Fact]
    public void RecordFailure_RepeatedFromOneAddress_DoublesUpToTheCap()
    {
        var throttle = new LoginThrottle(_time);

        var delays = Enumerable.Range(0, 6).Select(_ => throttle.RecordFailure(null, Guesser)).ToList();

        Assert.Equal([0.5, 1, 2, 4, 4, 4], delays.Select(d => d.TotalSeconds));
    }

    [Fact]
    public void RecordFailure_OneAccountFromManyAddresses_GrowsByTheAccount()
    {
        var throttle = new LoginThrottle(_time);

        var delays = Enumerable.Range(1, 4).Select(i => throttle.RecordFailure("sales@example.com", IPAddress.Parse($"192.0.2.{i}"))).ToList();

        Assert.Equal([0.5, 1, 2, 4], delays.Select(d => d.TotalSeconds));
    }

    [Fact]
    public void RecordFailure_OtherAccountAndOtherAddress_StartsAtTheFirstDelay()
    {
        var throttle = new LoginThrottle(_time);
        for (var i = 0; i < 5; i++)
        {
            throttle.RecordFailure("sales@example.com", Guesser);
        }

        Assert.Equal(LoginThrottle.FirstDelay, throttle.RecordFailure("info@example.com", IPAddress.Parse("192.0.2.99")));
    }

    [Fact]
    public void RecordFailure_AfterQuietPeriods_OneFailureForgottenPerPeriod()
    {
        var throttle = new LoginThrottle(_time);
        for (var i = 0; i < 4; i++)
        {
            throttle.RecordFailure(null, Guesser);
        }

        _time.Advance(LoginThrottle.QuietPeriod * 2);
        Assert.Equal(TimeSpan.FromSeconds(2), throttle.RecordFailure(null, Guesser));
        _time.Advance(LoginThrottle.QuietPeriod * 10);
        Assert.Equal(LoginThrottle.FirstDelay, throttle.RecordFailure(null, Guesser));
    }

    [Fact]
    public void RecordFailure_AddressesInOneIpv6Slash64_CountTogether()
    {
        var throttle = new LoginThrottle(_time);

        throttle.RecordFailure(null, IPAddress.Parse("2001:db8:1:2::1"));

        Assert.Equal(TimeSpan.FromSeconds(1), throttle.RecordFailure(null, IPAddress.Parse("2001:db8:1:2:ffff::9")));
        Assert.Equal(LoginThrottle.FirstDelay, throttle.RecordFailure(null, IPAddress.Parse("2001:db8:1:3::1")));
    }

    [Fact]
    public void ClientAddressKeyOf_Ipv4MappedAddress_SameAsTheIpv4Address()
    {
        Assert.Equal(ClientAddressKey.Of(Guesser), ClientAddressKey.Of(Guesser.MapToIPv6()));
    }

    [Fact]
    public void RecordFailure_MoreAddressesThanTheCap_MemoryStaysBoundedAndRecentOnesAreKept()
    {
        var throttle = new LoginThrottle(_time);

        for (var i = 0; i < LoginThrottle.MaxTracked * 2; i++)
        {
            var bytes = BitConverter.GetBytes(i);
            throttle.RecordFailure(null, new IPAddress([10, bytes[2], bytes[1], bytes[0]]));
            if (i % 1000 == 0)
            {
                _time.Advance(TimeSpan.FromSeconds(1));
            }
        }
        throttle.RecordFailure(null, Guesser);

        Assert.True(throttle.TrackedCount <= LoginThrottle.MaxTracked, $"{throttle.TrackedCount} tracked");
        Assert.Equal(TimeSpan.FromSeconds(1), throttle.RecordFailure(null, Guesser));
    }

    [Fact]
    public void Turn_CleanAddressAndName_NoWait()
    {
        var throttle = new LoginThrottle(_time);

        Assert.Equal(TimeSpan.Zero, throttle.Turn("sales@example.com", Guesser));
        Assert.Equal(TimeSpan.Zero, throttle.Turn("sales@example.com", Guesser));
    }

    [Fact]
    public void Turn_AfterFailuresFromOneAddress_ChecksLinedUpOnePerDelay()
    {
        var throttle = new LoginThrottle(_time);
        throttle.RecordFailure(null, Guesser);
        throttle.RecordFailure(null, Guesser);

        // Two failures: one check per second, one after the other, whatever the login name.
        var turns = Enumerable.Range(0, 4).Select(i => throttle.Turn($"name{i}@example.com", Guesser)).ToList();

        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(4)], turns);
    }

    [Fact]
    public void Turn_LineLongerThanTheMaximumWait_RefusedWithoutTakingAPlace()
    {
        var throttle = new LoginThrottle(_time);
        for (var i = 0; i < 5; i++)
        {
            throttle.RecordFailure(null, Guesser);
        }
        var turns = new List<TimeSpan?>();
        for (var i = 0; i < 8; i++)
        {
            turns.Add(throttle.Turn(null, Guesser));
        }

        // 4 s apart: 4, 8, 12, 16, 20 s fit; the next ones are refused and take no place.
        Assert.Equal(5, turns.Count(t => t is not null));
        Assert.All(turns.Skip(5), t => Assert.Null(t));
        _time.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(TimeSpan.FromSeconds(20), throttle.Turn(null, Guesser));
    }

    [Fact]
    public void Turn_KnownAndUnknownNamesAfterFailuresFromManyAddresses_SameWait()
    {
        var throttle = new LoginThrottle(_time);
        for (var i = 1; i <= 3; i++)
        {
            throttle.RecordFailure("sales@example.com", IPAddress.Parse($"192.0.2.{i}"));
            throttle.RecordFailure("ghost@example.com", IPAddress.Parse($"198.51.100.{i}"));
        }

        // A name's failures delay its next check by their delay (2 s after three), not a line.
        var fresh = IPAddress.Parse("203.0.113.9");
        Assert.Equal(TimeSpan.FromSeconds(2), throttle.Turn("SALES@example.com", fresh));
        Assert.Equal(TimeSpan.FromSeconds(2), throttle.Turn("ghost@example.com", fresh));
        Assert.Equal(TimeSpan.FromSeconds(2), throttle.Turn("sales@example.com", IPAddress.Parse("203.0.113.10")));
    }

    [Fact]
    public async Task WaitTurnAsync_WaitsOnTheTimeProviderBeforeTheCheck()
    {
        var throttle = new LoginThrottle(_time);
        throttle.RecordFailure(null, Guesser);

        var turn = throttle.WaitTurnAsync("x@example.com", Guesser, CancellationToken.None);
        _time.Advance(TimeSpan.FromMilliseconds(499));

        Assert.False(turn.IsCompleted);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(await turn.Guarded());
    }

    [Fact]
    public void RecordFailure_VeryLongLoginNames_RememberedByTheirStart()
    {
        var throttle = new LoginThrottle(_time);

        throttle.RecordFailure(new string('a', 8000), null);
        throttle.RecordFailure(new string('a', 8000) + "b", null);

        Assert.Equal(1, throttle.TrackedCount);
    }

    [Fact]
    public void RecordFailure_WallClockStepsAnHourAhead_FailuresStillRemembered()
    {
        var clock = new SteppingClock();
        var throttle = new LoginThrottle(clock);
        for (var i = 0; i < 3; i++)
        {
            throttle.RecordFailure(null, Guesser);
        }

        clock.StepWallClock(TimeSpan.FromHours(1));

        Assert.Equal(LoginThrottle.MaxDelay, throttle.RecordFailure(null, Guesser));
    }

    /// <summary>A clock whose wall time can jump (an NTP step, a manual change) while its monotonic timestamp does not move.</summary>
    private sealed class SteppingClock : TimeProvider
    {
        private DateTimeOffset _now = new(2025, 3, 1, 12, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public override long GetTimestamp() => 0;

        public void StepWallClock(TimeSpan step) => _now += step;
    }
}
