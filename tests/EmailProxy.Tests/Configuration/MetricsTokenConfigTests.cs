using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Configuration;

/// <summary><c>[general] metrics_token</c> read from a file: kept when long enough, refused without its value otherwise.</summary>
public sealed class MetricsTokenConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ConfigReadResult Read(string general) =>
        ConfigReader.ReadFile(_temp.WriteFile($"{Guid.NewGuid():N}.config",
            $"[general]\n{general}\n[server s]\nimap_host = imap.example.com\nsmtp_host = smtp.example.com\npop_host = pop.example.com\n[account a@example.com]\nclient_id = id\n"));

    private static readonly string Hash = EmailProxy.Accounts.PasswordVerifier.Hash("correct horse");

    [Fact]
    public void ReadFile_MetricsTokenWithAdminPassword_IsKept()
    {
        var result = Read($"admin_password = {Hash}\nmetrics_token = 0123456789abcdef0123456789abcdef");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Empty(result.Warnings);
        Assert.Equal("0123456789abcdef0123456789abcdef", result.Config!.General.MetricsToken);
    }

    [Fact]
    public void ReadFile_MetricsTokenWithoutAdminPassword_IsKeptWithAWarningWithoutTheValue()
    {
        var result = Read("metrics_token = 0123456789abcdef0123456789abcdef");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Assert.Single(result.Warnings);
        Assert.Equal("[general] metrics_token: has no effect without admin_password: /metrics is open like every page (the listener is on loopback)", warning.ToString());
        Assert.Equal("0123456789abcdef0123456789abcdef", result.Config!.General.MetricsToken);
    }

    [Fact]
    public void ReadFile_NoMetricsToken_IsNull()
    {
        var result = Read("log_level = info");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Null(result.Config!.General.MetricsToken);
    }

    [Theory]
    [InlineData("short-secret")]
    [InlineData("fifteen-chars-x")]
    [InlineData("has a space in the middle of it")]
    [InlineData("ünïcode-ünïcode-ünïcode")]
    public void ReadFile_MetricsTokenTooWeakOrNotAHeaderValue_IsAnErrorWithoutTheValue(string token)
    {
        var result = Read($"metrics_token = {token}");

        var error = Assert.Single(result.Errors);
        Assert.Equal(("general", "metrics_token", null), (error.Section, error.Key, error.Value));
        Assert.Equal(
            "[general] metrics_token: must be at least 16 printable ASCII characters without spaces (a bearer token a scraper sends), e.g. the output of 'openssl rand -hex 16'",
            error.ToString());
        Assert.DoesNotContain(token, error.ToString(), StringComparison.Ordinal);
    }
}
