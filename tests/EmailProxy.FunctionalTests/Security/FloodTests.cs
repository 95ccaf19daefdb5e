using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Infrastructure;
using EmailProxy.FunctionalTests.Load;
using MailKit.Net.Imap;
using MailKit.Security;
using Xunit;

namespace EmailProxy.FunctionalTests.Security;

/// <summary>
/// 100 clients flood the real proxy's pre-login readers at once (IMAP <c>{0+}</c> continuation
/// floods, 1 MiB lines, <c>(</c> floods, SMTP and POP3 garbage) while a logged-in IMAP session
/// keeps working through it. Every flooding client is closed by the proxy, and every session's
/// PreLoginPeak line (Debug) shows its reader within its limit. No time or memory is asserted.
/// </summary>
[Collection(LoadTestsRunAlone.Name)]
public sealed partial class FloodTests
{
    private const int Clients = 100;

    [Fact]
    public async Task Flood_HundredHostileClients_AllClosedWithinTheirLimitsWhileALoggedInSessionWorks()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var proxy = await env.StartProxyAsync();
        using (var first = new ImapClient())
        {
            await first.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
            await Assert.ThrowsAsync<AuthenticationException>(() => first.AuthenticateAsync(TestEnvironment.Account, "any"));
        }
        Assert.Contains("signed in", await env.SignInAsync(proxy), StringComparison.Ordinal);
        using var working = new ImapClient();
        await working.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
        await working.AuthenticateAsync(TestEnvironment.Account, "any");

        var floods = Enumerable.Range(0, Clients).Select(i => FloodAsync(env, i)).ToList();
        var all = Task.WhenAll(floods);
        var noops = 0;
        while (!all.IsCompleted && noops < 1000)
        {
            await working.NoOpAsync();
            noops++;
        }
        await all;
        await working.NoOpAsync();
        Assert.All(floods, flood => Assert.True(flood.Result, "the proxy closed the flooding client"));

        // One PreLoginPeak line per session that ended: the first login's and the 100 floods'.
        var peaks = 0;
        await proxy.WaitForLineAsync(l => PeakPattern().IsMatch(l) && ++peaks == Clients + 1);
        var held = proxy.Output.Select(l => PeakPattern().Match(l)).Where(m => m.Success)
            .Select(m => (Peak: long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Limit: long.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)))
            .ToList();
        Assert.True(held.Count >= Clients + 1);
        Assert.All(held, h => Assert.InRange(h.Peak, 0, h.Limit));
        await working.DisconnectAsync(quit: true);
    }

    /// <summary>One flooding client: sends its flood (a bounded one), then reads until the proxy closes; true when it did.</summary>
    private static async Task<bool> FloodAsync(TestEnvironment env, int index)
    {
        var (port, flood) = (index % 5) switch
        {
            0 => (env.ImapPort, ContinuationFlood()),
            1 => index % 2 == 0 ? (env.ImapPort, "a1 LOGIN " + new string('x', 1024 * 1024) + "\r\n") : (env.SmtpPort, "EHLO " + new string('x', 1024 * 1024) + "\r\n"),
            2 => (env.ImapPort, string.Concat(Enumerable.Range(1, 11).Select(i => $"p{i} LOGIN {new string('(', 5000)}\r\n"))),
            3 => (env.SmtpPort, Garbage(index)),
            _ => (env.PopPort, Garbage(index)),
        };
        await using var client = await LineClient.ConnectAsync(port);
        try
        {
            await client.WriteAsync(flood);
            return await client.IsClosedByServerAsync();
        }
        catch (IOException)
        {
            // Reset: the proxy closed with the rest of the flood unread.
            return true;
        }
    }

    /// <summary>Commands of 200 empty non-synchronising literals each, eleven of them.</summary>
    private static string ContinuationFlood() =>
        string.Concat(Enumerable.Range(1, 11).Select(i => $"c{i} XFLOOD {{0+}}\r\n" + string.Concat(Enumerable.Repeat(" {0+}\r\n", 199)) + "\r\n"));

    /// <summary>Twelve lines of printable garbage.</summary>
    private static string Garbage(int seed)
    {
        var random = new Random(seed);
        var text = new StringBuilder();
        for (var line = 0; line < 12; line++)
        {
            for (var i = random.Next(1, 200); i > 0; i--)
            {
                text.Append((char)random.Next('!', '~' + 1));
            }
            text.Append("\r\n");
        }
        return text.ToString();
    }

    [GeneratedRegex("pre-login peak ([0-9]+) bytes held of ([0-9]+) allowed")]
    private static partial Regex PeakPattern();
}
