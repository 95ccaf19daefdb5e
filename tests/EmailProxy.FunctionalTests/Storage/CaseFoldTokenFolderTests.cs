using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Storage;

/// <summary>
/// Token files named by the case mapping of versions before the fixed one (tests/data/casefold-token-folder,
/// written by that code) are renamed at the first start, and their accounts log in with the tokens in them.
/// </summary>
public sealed class CaseFoldTokenFolderTests
{
    /// <summary>The master key the folder was written under (its README tells how).</summary>
    private const string FolderKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    private const string Elodie = "\u00C9lodie@example.com";

    /// <summary>Kate with a Kelvin sign (U+212A) for the K: the old mapping named its file kate@example.com.json.</summary>
    private const string KelvinKate = "\u212Aate@example.com";

    private static string AccountSection(TestEnvironment env, string name) => $"""

        [account {name}]
        username = {TestEnvironment.Account}
        client_id = {env.Identity.ClientId}
        tenant = {env.Identity.Tenant}
        authority = {env.Identity.Authority}
        server = {TestEnvironment.ServerName}
        scope = https://outlook.office.com/IMAP.AccessAsUser.All offline_access

        """;

    [Fact]
    public async Task Start_TokenFolderNamedByTheOldCaseMapping_RenamesTheFilesAndLogsInWithTheirTokens()
    {
        await using var env = await TestEnvironment.CreateAsync();
        Directory.CreateDirectory(env.TokenDirectory);
        foreach (var file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "data", "casefold-token-folder"), "*.json"))
        {
            File.Copy(file, Path.Combine(env.TokenDirectory, Path.GetFileName(file)));
        }
        env.WriteConfig(AccountSection(env, Elodie) + AccountSection(env, KelvinKate));
        const string scope = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access";
        env.Identity.AcceptRefreshTokenForTests("fake-rt-casefold-elodie", TestEnvironment.Account, scope);
        env.Identity.AcceptRefreshTokenForTests("fake-rt-casefold-kate", TestEnvironment.Account, scope);

        var proxy = await env.StartProxyAsync(new Dictionary<string, string?> { ["EMAILPROXY_SECRET"] = FolderKey });

        var renamed = proxy.Output.Where(l => l.Contains("was renamed from", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, renamed.Count);
        Assert.Contains(renamed, l => l.Contains(Path.Combine(env.TokenDirectory, "kate@example.com.json"), StringComparison.Ordinal));
        Assert.Equal(
            ["%C3%89lodie@example.com.json", "%E2%84%AAate@example.com.json"],
            Directory.GetFiles(env.TokenDirectory, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (var (account, refreshToken) in new[] { (Elodie, "fake-rt-casefold-elodie"), (KelvinKate, "fake-rt-casefold-kate") })
        {
            await using var client = await LineClient.ConnectAsync(env.ImapPort);
            await client.ReadLineAsync();
            await client.WriteAsync($"l1 LOGIN \"{account}\" password\r\n");
            Assert.StartsWith("l1 OK", await client.ReadUntilAsync(l => l.StartsWith("l1 ", StringComparison.Ordinal)), StringComparison.Ordinal);
            Assert.Contains(env.Identity.TokenRequests, r => r.GrantType == "refresh_token" && r.Form["refresh_token"] == refreshToken);
        }
        Assert.Equal(0, env.Identity.AuthorizationCodeRequests);
        Assert.DoesNotContain(proxy.Output, l => l.Contains("cannot be used", StringComparison.Ordinal) || l.Contains("sign-in needed", StringComparison.Ordinal));
        Assert.Equal(0, await proxy.StopAsync());

        // Nothing is left to rename at the next start.
        var restarted = await env.StartProxyAsync(new Dictionary<string, string?> { ["EMAILPROXY_SECRET"] = FolderKey });
        Assert.DoesNotContain(restarted.Output, l => l.Contains("renamed", StringComparison.Ordinal));
    }
}
