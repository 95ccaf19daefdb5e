using System.Net;
using EmailProxy.Connections;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Connections;

/// <summary>Failed logins of one address are logged at a bounded rate, with a count of the rest, on a fake clock.</summary>
public sealed class FailedLoginLogTests : IDisposable
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-11-24T08:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
    private readonly RecordingLoggerProvider _log = new();

    public void Dispose() => _log.Dispose();

    [Fact]
    public void Admit_MoreThanTheMinutesShareFromOneAddress_RestCountedInOneLineAfterTheMinute()
    {
        using var limiter = new FailedLoginLog(_time, _log.CreateLogger<FailedLoginLog>());
        var address = IPAddress.Parse("10.0.0.5");

        var admitted = Enumerable.Range(0, FailedLoginLog.LoggedPerMinute + 53).Count(_ => limiter.Admit(address));
        Assert.Equal(FailedLoginLog.LoggedPerMinute, admitted);
        Assert.True(limiter.Admit(IPAddress.Parse("10.0.0.6")), "another address has its own share");
        Assert.Empty(_log.Lines);

        _time.Advance(FailedLoginLog.Interval);

        Assert.Equal(["… 53 more failed logins or refused connections from 10.0.0.5 in the last minute"], _log.Lines);
        Assert.True(limiter.Admit(address), "a new minute, a new share");
    }

    [Fact]
    public void Admit_IPv4MappedAddress_CountsAsItsIPv4Address()
    {
        using var limiter = new FailedLoginLog(_time, _log.CreateLogger<FailedLoginLog>());

        for (var i = 0; i < FailedLoginLog.LoggedPerMinute; i++)
        {
            limiter.Admit(IPAddress.Parse("10.0.0.5"));
        }

        Assert.False(limiter.Admit(IPAddress.Parse("10.0.0.5").MapToIPv6()));
    }

    [Fact]
    public void Admit_MoreAddressesThanTracked_MemoryBoundedAndTheRestShareOneCount()
    {
        using var limiter = new FailedLoginLog(_time, _log.CreateLogger<FailedLoginLog>());

        for (var i = 0; i < FailedLoginLog.MaxTrackedAddresses + 100; i++)
        {
            limiter.Admit(new IPAddress(0x0A000000u + (uint)i));
        }

        Assert.Equal(FailedLoginLog.MaxTrackedAddresses + 1, limiter.TrackedAddresses);
        _time.Advance(FailedLoginLog.Interval);
        Assert.Equal([$"… {100 - FailedLoginLog.LoggedPerMinute} more failed logins or refused connections from {FailedLoginLog.OtherAddresses} in the last minute"], _log.Lines);
        Assert.Equal(0, limiter.TrackedAddresses);
    }

    [Fact]
    public async Task Sessions_GuessingFromOneAddress_LoginFailedLinesBoundedThenCounted()
    {
        await using var first = HostileClient.Start("IMAP");
        var clients = new List<HostileClient> { first };
        for (var i = 1; i < 5; i++)
        {
            clients.Add(first.Another(i % 2 == 0 ? "IMAP" : "POP3"));
        }

        // 5 connections × 3 failed logins from 10.0.0.5: 15 failures.
        foreach (var client in clients)
        {
            await client.SendAsync(client == first || clients.IndexOf(client) % 2 == 0
                ? string.Concat(Enumerable.Range(1, 3).Select(i => $"a{i} LOGIN guess{i}@example.com secret\r\n"))
                : string.Concat(Enumerable.Range(1, 3).Select(i => $"USER guess{i}@example.com\r\nPASS secret\r\n")));
            await client.EndedAsync();
        }

        Assert.Equal(FailedLoginLog.LoggedPerMinute, first.Events("LoginFailed").Count);
        var ended = first.Events("SessionEnded");
        Assert.Equal(5, ended.Count);
        // The fifth session's failures were all left out: its end is logged at Debug only.
        Assert.Equal(4, ended.Count(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Information));
        foreach (var client in clients.Skip(1))
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public void Admit_AddressesOfOneIpv6Slash64_ShareOneCount()
    {
        using var limiter = new FailedLoginLog(_time, _log.CreateLogger<FailedLoginLog>());

        for (var i = 1; i <= FailedLoginLog.LoggedPerMinute; i++)
        {
            limiter.Admit(IPAddress.Parse($"2001:db8:1:2::{i:x}"));
        }

        Assert.False(limiter.Admit(IPAddress.Parse("2001:db8:1:2:ffff::1")), "a fresh address of the same /64 is the same client");
        Assert.True(limiter.Admit(IPAddress.Parse("2001:db8:1:3::1")), "another /64 has its own share");
        _time.Advance(FailedLoginLog.Interval);
        Assert.Equal(["… 1 more failed logins or refused connections from 2001:db8:1:2::/64 in the last minute"], _log.Lines);
    }

    [Fact]
    public async Task Sessions_RefusedBeforeLoginFromOneAddress_SessionEndedLinesBoundedThenDebug()
    {
        await using var first = HostileClient.Start("SMTP");
        var clients = new List<HostileClient> { first };
        for (var i = 1; i < FailedLoginLog.LoggedPerMinute + 3; i++)
        {
            clients.Add(first.Another(i % 3 == 0 ? "IMAP" : i % 3 == 1 ? "POP3" : "SMTP"));
        }

        foreach (var client in clients)
        {
            await client.SendAsync("POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
            await client.EndedAsync();
        }

        var ended = first.Events("SessionEnded");
        Assert.Equal(clients.Count, ended.Count);
        Assert.Equal(FailedLoginLog.LoggedPerMinute, ended.Count(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Information));
        Assert.All(ended.Where(e => e.Level != Microsoft.Extensions.Logging.LogLevel.Information), e => Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Debug, e.Level));
        foreach (var client in clients.Skip(1))
        {
            await client.DisposeAsync();
        }
    }
}
