using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Storage;

/// <summary>Token folders written by earlier versions keep working.</summary>
public sealed class LegacyTokenFolderTests
{
    /// <summary>The passphrase tests/data/legacy-token-folder was written under (its README tells how).</summary>
    private const string LegacyPassphrase = "legacy passphrase of the tests";

    [Fact]
    public async Task Start_TokenFolderWrittenUnderThePassphrasesSha256_LogsInWithoutASignInAndRewritesTheFile()
    {
        await using var env = await TestEnvironment.CreateAsync();
        Directory.CreateDirectory(env.TokenDirectory);
        var file = Path.Combine(env.TokenDirectory, "user@example.com.json");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "data", "legacy-token-folder", "user@example.com.json"), file);
        var legacy = await File.ReadAllTextAsync(file);
        env.Identity.AcceptRefreshTokenForTests("fake-rt-legacy-refresh-token", TestEnvironment.Account, "https://outlook.office.com/IMAP.AccessAsUser.All offline_access");
        var secret = new Dictionary<string, string?> { ["EMAILPROXY_SECRET"] = LegacyPassphrase };

        var proxy = await env.StartProxyAsync(secret);

        var migrated = await proxy.WaitForLineAsync(l => l.Contains("rewritten under the passphrase's new key derivation", StringComparison.Ordinal));
        Assert.Contains(file, migrated, StringComparison.Ordinal);
        await using (var session = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account))
        {
            Assert.Equal("fake-rt-legacy-refresh-token", env.Identity.TokenRequests.First(r => r.GrantType == "refresh_token").Form["refresh_token"]);
        }
        Assert.Equal(0, env.Identity.AuthorizationCodeRequests);
        Assert.DoesNotContain(proxy.Output, l => l.Contains("cannot be used", StringComparison.Ordinal) || l.Contains(LegacyPassphrase, StringComparison.Ordinal));
        Assert.NotEqual(legacy, await File.ReadAllTextAsync(file));
        Assert.True(File.Exists(env.TokenDirectory + ".kdf.json"));
        Assert.Equal(0, await proxy.StopAsync());

        // The rewritten file is read under the derived key at the next start, with nothing left to migrate.
        var restarted = await env.StartProxyAsync(secret);
        await using (var again = await ImapProxyTests.LoginAsync(env, TestEnvironment.Account))
        {
            Assert.DoesNotContain(restarted.Output, l => l.Contains("rewritten under", StringComparison.Ordinal) || l.Contains("cannot be used", StringComparison.Ordinal));
        }
        Assert.Equal(0, env.Identity.AuthorizationCodeRequests);
    }
}
