using System.Security.Cryptography;
using EmailProxy.Accounts;
using EmailProxy.OAuth2;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.TokenStore;

/// <summary>The client password hash of an account made from a template, kept with its tokens.</summary>
public sealed class TemplatePasswordStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 6, 12, 0, 0, TimeSpan.Zero));
    private readonly MasterKey _key = MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32));

    public void Dispose() => _temp.Dispose();

    private TokenFileStore NewStore() => new(_temp.Combine("tokens"), _key, _time, NullLogger<TokenFileStore>.Instance);

    [Fact]
    public async Task LoadAsync_SavedWithAPasswordHash_ReturnsItAndTheFileShowsItNowhereReadable()
    {
        var account = TestAccounts.Create("alice@example.org") with { Template = "*@example.org" };
        var hash = PasswordVerifier.Hash("generated-password");

        await NewStore().SaveAsync(account, new StoredTokens("access", _time.GetUtcNow().AddHours(1), "refresh", _time.GetUtcNow(), "alice@example.org", hash), CancellationToken.None);
        var loaded = await NewStore().LoadAsync(account, CancellationToken.None);

        Assert.Equal(hash, loaded!.PasswordHash);
        Assert.DoesNotContain(hash, await File.ReadAllTextAsync(NewStore().PathFor(account.Name)), StringComparison.Ordinal);
        Assert.DoesNotContain(hash, loaded.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task StoredAccountNames_TokenFiles_TheAccountsTheySayTheyBelongTo()
    {
        var store = NewStore();
        foreach (var name in new[] { "alice@example.org", "Bob@Example.org" })
        {
            await store.SaveAsync(TestAccounts.Create(name), new StoredTokens("a", null, "r", null), CancellationToken.None);
        }
        // A copy under another name is not an account's.
        File.Copy(store.PathFor("alice@example.org"), Path.Combine(store.Directory, "copy.json"));
        await File.WriteAllTextAsync(Path.Combine(store.Directory, "junk.json"), "not json");

        Assert.Equal(["Bob@Example.org", "alice@example.org"], TokenFileStore.StoredAccountNames(store.Directory).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AcceptSignInAsync_LaterSignInWithoutAHash_KeepsTheFirstOnesHash()
    {
        var account = TestAccounts.Create("alice@example.org") with { Template = "*@example.org" };
        var tokens = new TokenService(new OAuthClient(new HttpClient(), _time), NewStore(), _time, NullLogger<TokenService>.Instance);
        var hash = PasswordVerifier.Hash("generated-password");
        var result = new TokenEndpointResult { AccessToken = "access", RefreshToken = "refresh", ExpiresAt = _time.GetUtcNow().AddHours(1) };

        await tokens.AcceptSignInAsync(account, result, CancellationToken.None, "alice@example.org", hash);
        await tokens.AcceptSignInAsync(account, result with { AccessToken = "access-2", RefreshToken = "refresh-2" }, CancellationToken.None, "alice@example.org");

        Assert.Equal(hash, (await tokens.SnapshotAsync(account, CancellationToken.None)).PasswordHash);
        Assert.Equal(hash, (await NewStore().LoadAsync(account, CancellationToken.None))!.PasswordHash);
        await tokens.ForgetAsync(account, CancellationToken.None);
        Assert.Null((await tokens.SnapshotAsync(account, CancellationToken.None)).PasswordHash);
    }
}
