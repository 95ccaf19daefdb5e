using System.Net;
using EmailProxy.LocalTls;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.LocalTls;

/// <summary>One notice per client address and minute, on a fake clock, with a bounded memory.</summary>
public sealed class AddressMinuteGateTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);

    [Fact]
    public void Admit_SameAddressWithinAMinute_OnlyTheFirstAndAgainAfterTheMinute()
    {
        var gate = new AddressMinuteGate(_time);
        var address = IPAddress.Parse("192.0.2.1");
        Assert.True(gate.Admit(address));
        Assert.False(gate.Admit(address));
        Assert.True(gate.Admit(IPAddress.Parse("192.0.2.2")));
        _time.Advance(AddressMinuteGate.Interval - TimeSpan.FromSeconds(1));
        Assert.False(gate.Admit(address));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(gate.Admit(address));
    }

    [Fact]
    public void Admit_IPv6AddressesOfOnePrefix_ShareOneNotice()
    {
        var gate = new AddressMinuteGate(_time);
        Assert.True(gate.Admit(IPAddress.Parse("2001:db8:1:2::10")));
        Assert.False(gate.Admit(IPAddress.Parse("2001:db8:1:2::20")));
    }

    [Fact]
    public void Admit_BeyondTheTrackedAddresses_FurtherOnesShareOneNoticeUntilTheMinuteIsOver()
    {
        var gate = new AddressMinuteGate(_time);
        for (var i = 0; i < AddressMinuteGate.MaxTrackedAddresses; i++)
        {
            Assert.True(gate.Admit(new IPAddress(0x0A000000u + (uint)i)));
        }
        Assert.True(gate.Admit(IPAddress.Parse("192.0.2.50")));
        Assert.False(gate.Admit(IPAddress.Parse("192.0.2.51")));
        _time.Advance(AddressMinuteGate.Interval);
        // The stale entries are forgotten: a new address has its own notice again.
        Assert.True(gate.Admit(IPAddress.Parse("192.0.2.52")));
        Assert.False(gate.Admit(IPAddress.Parse("192.0.2.52")));
    }
}
