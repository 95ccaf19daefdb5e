using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Storage;

/// <summary>Account names that would share a token file, or that are not file names, stop the start.</summary>
public sealed class AccountNameTests
{
    private static string AccountSection(TestEnvironment env, string name) => $"""

        [account {name}]
        client_id = {env.Identity.ClientId}
        server = {TestEnvironment.ServerName}

        """;

    [Fact]
    public async Task Start_KelvinSignAndLetterKAccounts_RefusedWithALineNamingBothSections()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(AccountSection(env, "\u212Aate@example.com") + AccountSection(env, "kate@example.com"));
        var proxy = env.CreateProxy();

        proxy.Launch();

        Assert.Equal(2, await proxy.WaitForExitAsync());
        // Which of the two is named first depends on the order the configuration reader lists them in.
        Assert.Contains(proxy.StandardError, l => l.Contains("[account \u212Aate@example.com]", StringComparison.Ordinal)
            && l.Contains("[account kate@example.com]", StringComparison.Ordinal)
            && l.Contains("cannot be told apart", StringComparison.Ordinal));
        Assert.False(Directory.Exists(env.TokenDirectory));
    }

    [Fact]
    public async Task Start_SlashInAnAccountName_RefusedWithALineNamingTheSection()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(AccountSection(env, "../other@example.com"));
        var proxy = env.CreateProxy();

        proxy.Launch();

        Assert.Equal(2, await proxy.WaitForExitAsync());
        Assert.Contains(proxy.StandardError, l => l.Contains("[account ../other@example.com]", StringComparison.Ordinal) && l.Contains("'/'", StringComparison.Ordinal));
    }
}
