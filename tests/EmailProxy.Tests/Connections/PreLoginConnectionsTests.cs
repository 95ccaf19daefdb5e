using System.Net;
using EmailProxy.Connections;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Connections;

public sealed class PreLoginConnectionsTests
{
    [Fact]
    public void TryEnter_UpToTheLimitFromOneAddress_ThenRefusedUntilOneLeaves()
    {
        var limit = new PreLoginConnections();
        var address = IPAddress.Parse("192.0.2.7");
        var keys = new List<string>();
        for (var i = 0; i < PreLoginConnections.MaxPerAddress; i++)
        {
            Assert.True(limit.TryEnter(address, out var key));
            keys.Add(key!);
        }

        Assert.False(limit.TryEnter(address, out var refused));
        Assert.Null(refused);
        Assert.True(limit.TryEnter(IPAddress.Parse("192.0.2.8"), out _));
        limit.Leave(keys[0]);
        Assert.True(limit.TryEnter(address, out _));
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.9.9.9")]
    [InlineData("::1")]
    [InlineData("::ffff:127.0.0.1")]
    public void TryEnter_Loopback_NeverCountedNorRefused(string text)
    {
        var limit = new PreLoginConnections();

        for (var i = 0; i < PreLoginConnections.MaxPerAddress * 2; i++)
        {
            Assert.True(limit.TryEnter(IPAddress.Parse(text), out var key));
            Assert.Null(key);
        }
        Assert.Equal(0, limit.TrackedAddresses);
    }

    [Fact]
    public void TryEnter_AddressesOfOneIpv6Slash64_ShareOneCount()
    {
        var limit = new PreLoginConnections();
        for (var i = 0; i < PreLoginConnections.MaxPerAddress; i++)
        {
            Assert.True(limit.TryEnter(IPAddress.Parse($"2001:db8:1:2::{i + 1:x}"), out _));
        }

        Assert.False(limit.TryEnter(IPAddress.Parse("2001:db8:1:2:ffff::1"), out _));
        Assert.True(limit.TryEnter(IPAddress.Parse("2001:db8:1:3::1"), out _));
    }

    [Fact]
    public void Leave_LastConnection_ForgetsTheAddress()
    {
        var limit = new PreLoginConnections();
        limit.TryEnter(IPAddress.Parse("192.0.2.7"), out var key);

        limit.Leave(key!);

        Assert.Equal(0, limit.TrackedAddresses);
    }

    [Fact]
    public async Task Session_OneMoreThanTheLimitFromOneAddress_GetsByeAtOnceAndTheOthersAreServed()
    {
        await using var first = HostileClient.Start("IMAP");
        var clients = new List<HostileClient> { first };
        try
        {
            Assert.StartsWith("* OK", await first.LineAsync(), StringComparison.Ordinal);
            for (var i = 1; i < PreLoginConnections.MaxPerAddress; i++)
            {
                var client = first.Another(i % 2 == 0 ? "IMAP" : "SMTP");
                clients.Add(client);
                await client.LineAsync();
            }

            await using var extra = first.Another("POP3");
            var (lines, _) = await extra.EndedAsync();

            Assert.Equal([$"-ERR Too many connections from your address before login (the limit is {PreLoginConnections.MaxPerAddress}); closing"], lines);
            await first.SendAsync("a NOOP\r\n");
            Assert.Equal("a OK NOOP completed", await first.LineAsync());

            // One of them goes: a new one is served again.
            await first.SendAsync("z LOGOUT\r\n");
            await first.EndedAsync();
            await using var again = first.Another("IMAP");
            Assert.StartsWith("* OK", await again.LineAsync(), StringComparison.Ordinal);
        }
        finally
        {
            foreach (var client in clients.Skip(1))
            {
                await client.DisposeAsync();
            }
        }
    }
}
