using EmailProxy.Configuration;
using EmailProxy.Graph;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Graph;

public sealed class GraphActivityTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static AccountOptions Account(SmtpVia via) => new("user@example.com")
    {
        Username = "user@example.com",
        ServerName = "s",
        ClientId = "id",
        TokenUrl = new Uri("https://login.example.com/token"),
        Scope = "scope",
        SmtpVia = via,
    };

    [Fact]
    public void Switch_AutoAccount_OnceAndRememberedByTheNextProcess()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 10, 0, 0, TimeSpan.Zero));
        var first = new GraphActivity(time, () => _temp.Path);
        var account = Account(SmtpVia.Auto);
        Assert.False(first.UsesGraph(account));

        Assert.True(first.Switch(account.Name, "535 5.7.139 SmtpClientAuthentication is disabled"));
        Assert.False(first.Switch(account.Name, "again"));

        Assert.True(first.UsesGraph(account));
        var restarted = new GraphActivity(time, () => _temp.Path);
        Assert.True(restarted.UsesGraph(account));
        Assert.Equal(time.GetUtcNow(), restarted.Of(account.Name)!.SwitchedAt);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(PrivateFileMode, File.GetUnixFileMode(GraphSwitchFile.PathFor(_temp.Path, account.Name)));
        }
        Assert.False(restarted.UsesGraph(Account(SmtpVia.Smtp)));
    }

    private const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    [Fact]
    public void SendsThrough_EachSmtpVia_Words()
    {
        Assert.Equal("SMTP", GraphActivity.SendsThrough(Account(SmtpVia.Smtp), null));
        Assert.Equal("Microsoft Graph (smtp_via = graph)", GraphActivity.SendsThrough(Account(SmtpVia.Graph), null));
        Assert.StartsWith("SMTP, switching", GraphActivity.SendsThrough(Account(SmtpVia.Auto), null), StringComparison.Ordinal);
        Assert.StartsWith("Microsoft Graph since 2026-12-06 10:00 UTC", GraphActivity.SendsThrough(Account(SmtpVia.Auto), new DateTimeOffset(2026, 12, 6, 10, 0, 0, TimeSpan.Zero)), StringComparison.Ordinal);
    }

    [Fact]
    public void Sent_Throttled_KeepsTheWaitUntilTheNextThrottling()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 12, 6, 10, 0, 0, TimeSpan.Zero));
        var activity = new GraphActivity(time);

        activity.Sent("a", "throttled", TimeSpan.FromSeconds(30));
        time.Advance(TimeSpan.FromSeconds(5));
        activity.Sent("a", "sent", null);

        var entry = activity.Of("a")!;
        Assert.Equal("sent", entry.LastResult);
        Assert.Equal(new DateTimeOffset(2026, 12, 6, 10, 0, 30, TimeSpan.Zero), entry.ThrottledUntil);
    }
}
