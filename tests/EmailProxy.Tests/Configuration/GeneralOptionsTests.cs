using EmailProxy.Configuration;

namespace EmailProxy.Tests.Configuration;

/// <summary>Secrets of [general] never reach a log line through a printed options object.</summary>
public sealed class GeneralOptionsTests
{
    [Fact]
    public void ToString_SecretsSet_NeitherIsPrinted()
    {
        var options = new GeneralOptions { AdminPassword = "AQAAAAIAAYagAAAAEsecret-hash", MetricsToken = "scrape-token-0123456789" };

        var text = options.ToString();

        Assert.DoesNotContain("secret-hash", text, StringComparison.Ordinal);
        Assert.DoesNotContain("scrape-token", text, StringComparison.Ordinal);
        Assert.Contains("AdminPassword = set", text, StringComparison.Ordinal);
    }
}
