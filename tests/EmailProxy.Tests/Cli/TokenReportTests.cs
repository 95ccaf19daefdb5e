using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using EmailProxy.Cli;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Cli;

/// <summary>
/// <c>emailproxy tokens list/show</c>: read without a running proxy from a token folder written by the
/// real <see cref="TokenFileStore"/>, in text and JSON, never showing a secret.
/// </summary>
[Collection(ConsoleTestsRunAlone.Name)]
public sealed class TokenReportTests : IDisposable
{
    private const string Config = """
        [general]
        redirect_uri = http://127.0.0.1:18089
        token_dir    = tokens
        secret_file  = emailproxy.key

        [server outlook.office365.com]
        imap_host = outlook.office365.com
        smtp_host = smtp.office365.com

        [account sales@example.com]
        client_id = 00000000-1111-2222-3333-444444444444
        tenant    = contoso.example
        server    = outlook.office365.com

        [account other@example.com]
        client_id = 00000000-1111-2222-3333-444444444444
        tenant    = contoso.example
        server    = outlook.office365.com
        """;

    private const string RefreshToken = "rt-Zq7vK2pL9xW4sN8mQ3fT6yB1";

    private static readonly DateTimeOffset Now = new(2026, 12, 6, 8, 0, 0, TimeSpan.Zero);

    /// <summary>A JWT-shaped access token: header.payload.signature, base64url, with the claims Entra puts in one.</summary>
    private static readonly string AccessToken = string.Join('.',
        Base64Url("""{"alg":"RS256","typ":"JWT","kid":"k-Hx9Wq2"}"""),
        Base64Url("""{"aud":"https://outlook.office.com","tid":"6627d97c-a18f-487c-bb7a-d0d6e1640a28","upn":"sales@example.com","scp":"IMAP.AccessAsUser.All SMTP.Send","exp":1796544000}"""),
        "c2lnbmF0dXJlLW5vdC1jaGVja2VkLVp4Q3ZCbk0");

    private readonly TempDirectory _temp = new();
    private readonly byte[] _key = RandomNumberGenerator.GetBytes(32);
    private readonly string _configPath;
    private readonly ProxyConfig _config;

    public TokenReportTests()
    {
        _configPath = _temp.WriteFile("emailproxy.config", Config);
        var read = ConfigReader.ReadFile(_configPath);
        Assert.True(read.IsValid, string.Join("; ", read.Errors));
        _config = read.Config!;
    }

    public void Dispose() => _temp.Dispose();

    private string TokenDirectory => _temp.Combine("tokens");

    private AccountOptions Sales => _config.FindAccount("sales@example.com")!;

    /// <summary>The key file as the proxy's first start writes it, and one account signed in.</summary>
    /// <remarks>The commands read the real clock: their tests sign in at <see cref="DateTimeOffset.UtcNow"/>.</remarks>
    private async Task SignInSalesAsync(string? refreshToken = RefreshToken, byte[]? key = null, DateTimeOffset? at = null)
    {
        var now = at ?? Now;
        _temp.WriteFile("emailproxy.key", Convert.ToBase64String(_key) + "\n");
        var time = new FakeTimeProvider(now.AddDays(-3));
        var store = new TokenFileStore(TokenDirectory, MasterKey.FromBytes(key ?? _key), time, NullLogger<TokenFileStore>.Instance);
        await store.SaveAsync(Sales, new StoredTokens(AccessToken, now.AddMinutes(30), refreshToken, now.AddDays(-3)), CancellationToken.None);
    }

    [Fact]
    public async Task ReadAsync_SignedInWithJwt_GivesStateScopesTimesAndDecodedClaims()
    {
        await SignInSalesAsync();

        var statuses = await TokenReport.ReadAsync(_config, _config.Accounts.Values, null, Now, CancellationToken.None);

        Assert.Equal(["other@example.com", "sales@example.com"], statuses.Select(s => s.Account));
        var other = statuses[0];
        Assert.Equal(TokenReport.NeedsSignIn, other.State);
        Assert.Equal("there is no token file", other.Reason);
        var sales = statuses[1];
        Assert.Equal(TokenReport.SignedIn, sales.State);
        Assert.Null(sales.Reason);
        Assert.Equal("authorization_code", sales.Flow);
        Assert.Equal("Microsoft", sales.Provider);
        Assert.Contains("offline_access", sales.Scopes!);
        Assert.Equal(Now.AddMinutes(30), sales.AccessTokenExpires);
        Assert.False(sales.AccessTokenExpired);
        Assert.Equal(3, sales.RefreshTokenAgeDays);
        Assert.NotNull(sales.Claims);
        Assert.False(sales.Claims.Verified);
        Assert.Equal(["https://outlook.office.com"], sales.Claims.Audience!);
        Assert.Equal("6627d97c-a18f-487c-bb7a-d0d6e1640a28", sales.Claims.Tenant);
        Assert.Equal("sales@example.com", sales.Claims.User);
        Assert.Equal(["IMAP.AccessAsUser.All", "SMTP.Send"], sales.Claims.Scopes!);
    }

    [Fact]
    public async Task ReadAsync_RefreshTokenMissing_NeedsSignIn()
    {
        await SignInSalesAsync(refreshToken: null);

        var sales = (await TokenReport.ReadAsync(_config, [Sales], null, Now, CancellationToken.None)).Single();

        Assert.Equal(TokenReport.NeedsSignIn, sales.State);
        Assert.Equal("the refresh token is missing", sales.Reason);
    }

    [Fact]
    public async Task ReadAsync_DamagedFile_NeedsSignInAndSaysDamaged()
    {
        await SignInSalesAsync();
        var path = Path.Combine(TokenDirectory, TokenFileName.For("sales@example.com"));
        await File.WriteAllTextAsync(path, "{ not json");

        var sales = (await TokenReport.ReadAsync(_config, [Sales], null, Now, CancellationToken.None)).Single();

        Assert.Equal(TokenReport.NeedsSignIn, sales.State);
        Assert.StartsWith("the token file is damaged", sales.Reason, StringComparison.Ordinal);
        Assert.Equal("{ not json", await File.ReadAllTextAsync(path));
    }

    [Fact]
    public async Task ReadAsync_FileOfAnotherKey_NeedsSignInAndSaysItDoesNotDecrypt()
    {
        await SignInSalesAsync(key: RandomNumberGenerator.GetBytes(32));

        var sales = (await TokenReport.ReadAsync(_config, [Sales], null, Now, CancellationToken.None)).Single();

        Assert.Equal(TokenReport.NeedsSignIn, sales.State);
        Assert.StartsWith("the token file does not decrypt with this master key", sales.Reason, StringComparison.Ordinal);
        Assert.Null(sales.Claims);
    }

    [Fact]
    public async Task ReadAsync_NoFolderAndNoKey_NeedsSignInAndCreatesNothing()
    {
        var statuses = await TokenReport.ReadAsync(_config, _config.Accounts.Values, null, Now, CancellationToken.None);

        Assert.All(statuses, s => Assert.Equal(TokenReport.NeedsSignIn, s.State));
        Assert.All(statuses, s => Assert.StartsWith($"the token folder {TokenDirectory} does not exist", s.Reason, StringComparison.Ordinal));
        Assert.False(Directory.Exists(TokenDirectory));
        Assert.False(File.Exists(_temp.Combine("emailproxy.key")));
    }

    [Fact]
    public async Task ReadAsync_FolderButNoKeyFile_NeedsSignInAndCreatesNoKey()
    {
        Directory.CreateDirectory(TokenDirectory);

        var sales = (await TokenReport.ReadAsync(_config, [Sales], null, Now, CancellationToken.None)).Single();

        Assert.StartsWith($"the key file {_temp.Combine("emailproxy.key")} does not exist", sales.Reason, StringComparison.Ordinal);
        Assert.False(File.Exists(_temp.Combine("emailproxy.key")));
    }

    [Fact]
    public async Task ReadAsync_FileUnderAnOlderVersionsName_SaysTheProxyRenamesItAndRenamesNothing()
    {
        await SignInSalesAsync();
        var account = TestAccounts.Create("\u00C9lodie@example.com");
        Assert.NotEqual(TokenFileName.For(account.Name), TokenFileName.Legacy(account.Name));
        var legacy = Path.Combine(TokenDirectory, TokenFileName.Legacy(account.Name));
        await File.WriteAllTextAsync(legacy, "{}");

        var status = (await TokenReport.ReadAsync(_config, [account], null, Now, CancellationToken.None)).Single();

        Assert.Equal(TokenReport.NeedsSignIn, status.State);
        Assert.Contains($"{legacy} has an older version's name", status.Reason, StringComparison.Ordinal);
        Assert.True(File.Exists(legacy));
    }

    [Fact]
    public async Task ReadAsync_PassphraseWithoutItsParametersFile_NeedsSignInAndCreatesNoParameters()
    {
        Directory.CreateDirectory(TokenDirectory);

        var sales = (await TokenReport.ReadAsync(_config, [Sales], "a passphrase, not a key", Now, CancellationToken.None)).Single();

        Assert.Equal(TokenReport.NeedsSignIn, sales.State);
        Assert.StartsWith("$EMAILPROXY_SECRET is a passphrase, but its parameters file", sales.Reason, StringComparison.Ordinal);
        Assert.False(File.Exists(PassphraseKdf.FileFor(TokenDirectory)));
    }

    [Fact]
    public async Task ReadAsync_ClientCredentialsWithoutToken_NoTokenYetRatherThanNeedsSignIn()
    {
        Directory.CreateDirectory(TokenDirectory);
        _temp.WriteFile("emailproxy.key", Convert.ToBase64String(_key) + "\n");
        var appOnly = Sales with { Flow = OAuthFlow.ClientCredentials };

        var status = (await TokenReport.ReadAsync(_config, [appOnly], null, Now, CancellationToken.None)).Single();

        Assert.Equal(TokenReport.NoTokenYet, status.State);
        Assert.Equal("client_credentials", status.Flow);
        Assert.Contains("the proxy gets one at the next login", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeClaims_NotAJwt_IsNull()
    {
        Assert.Null(TokenReport.DecodeClaims("ya29.a0AfH6SMBopaque-google-token"));
        Assert.Null(TokenReport.DecodeClaims("a.b.c"));
    }

    [Fact]
    public async Task TokensList_Text_DescribesEachAccountAndNeverASecret()
    {
        await SignInSalesAsync(at: DateTimeOffset.UtcNow);
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "list", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        var lines = console.Output.Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Contains("[account sales@example.com]", lines);
        Assert.Contains("  state:          signed in", lines);
        Assert.Contains("  flow:           authorization_code", lines);
        Assert.Contains(lines, l => l.StartsWith("  access token:   expires ", StringComparison.Ordinal)
            && (l.EndsWith("(in 29 min)", StringComparison.Ordinal) || l.EndsWith("(in 30 min)", StringComparison.Ordinal)));
        Assert.Contains(lines, l => l.StartsWith("  refresh token:  last rotated ", StringComparison.Ordinal) && l.EndsWith("(3 days ago)", StringComparison.Ordinal));
        Assert.Contains("  access token claims (decoded, not verified):", lines);
        Assert.Contains("    audience:     https://outlook.office.com", lines);
        Assert.Contains("    tenant:       6627d97c-a18f-487c-bb7a-d0d6e1640a28", lines);
        Assert.Contains("    user:         sales@example.com", lines);
        Assert.Contains("[account other@example.com]", lines);
        Assert.Contains("  state:          needs sign-in: there is no token file", lines);
        Assert.Equal("", console.Errors);
        AssertNoSecret(console.Output + console.Errors);
    }

    [Fact]
    public async Task TokensShow_SignedInWithIdentity_PrintsItInTextAndJson()
    {
        _temp.WriteFile("emailproxy.key", Convert.ToBase64String(_key) + "\n");
        var store = new TokenFileStore(TokenDirectory, MasterKey.FromBytes(_key), TimeProvider.System, NullLogger<TokenFileStore>.Instance);
        await store.SaveAsync(Sales, new StoredTokens(AccessToken, DateTimeOffset.UtcNow.AddMinutes(30), RefreshToken, DateTimeOffset.UtcNow, "delegate@example.com"), CancellationToken.None);

        using (var console = new ConsoleCapture())
        {
            Assert.Equal(ProxyCommandLine.ExitOk, await ProxyCommandLine.InvokeAsync(["tokens", "show", "sales@example.com", "--config", _configPath]).Guarded());
            Assert.Contains("  identity:       delegate@example.com", console.Output.Split('\n').Select(l => l.TrimEnd('\r')));
            AssertNoSecret(console.Output);
        }
        using (var console = new ConsoleCapture())
        {
            Assert.Equal(ProxyCommandLine.ExitOk, await ProxyCommandLine.InvokeAsync(["tokens", "show", "sales@example.com", "--json", "--config", _configPath]).Guarded());
            Assert.Equal("delegate@example.com", JsonDocument.Parse(console.Output).RootElement.GetProperty("identity").GetString());
            AssertNoSecret(console.Output);
        }
    }

    [Fact]
    public async Task TokensList_Json_OneDocumentWithEveryAccountAndNeverASecret()
    {
        await SignInSalesAsync(at: DateTimeOffset.UtcNow);
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "list", "--json", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        using var document = JsonDocument.Parse(console.Output);
        var accounts = document.RootElement.GetProperty("accounts").EnumerateArray().ToList();
        Assert.Equal(2, accounts.Count);
        var sales = accounts.Single(a => a.GetProperty("account").GetString() == "sales@example.com");
        Assert.Equal("signed-in", sales.GetProperty("state").GetString());
        Assert.Equal(3, sales.GetProperty("refresh_token_age_days").GetInt32());
        Assert.False(sales.GetProperty("claims").GetProperty("verified").GetBoolean());
        Assert.Equal("sales@example.com", sales.GetProperty("claims").GetProperty("user").GetString());
        AssertNoSecret(console.Output + console.Errors);
    }

    [Fact]
    public async Task TokensShow_Json_OneAccountAsOneObjectAndNeverASecret()
    {
        await SignInSalesAsync(at: DateTimeOffset.UtcNow);
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "show", "SALES@example.com", "--json", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        using var document = JsonDocument.Parse(console.Output);
        Assert.Equal("sales@example.com", document.RootElement.GetProperty("account").GetString());
        Assert.Equal("6627d97c-a18f-487c-bb7a-d0d6e1640a28", document.RootElement.GetProperty("claims").GetProperty("tenant").GetString());
        AssertNoSecret(console.Output + console.Errors);
    }

    [Fact]
    public async Task TokensShow_Text_OnlyThatAccount()
    {
        await SignInSalesAsync(at: DateTimeOffset.UtcNow);
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "show", "sales@example.com", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitOk, exit);
        Assert.Contains("[account sales@example.com]", console.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("other@example.com", console.Output, StringComparison.Ordinal);
        AssertNoSecret(console.Output + console.Errors);
    }

    [Fact]
    public async Task TokensShow_UnknownAccount_OneLineOnStandardErrorAndExitsFailure()
    {
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "show", "nobody@example.com", "--config", _configPath]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitFailure, exit);
        Assert.Equal($"emailproxy: {_configPath}: there is no [account nobody@example.com]", console.Errors.TrimEnd('\r', '\n'));
        Assert.Equal("", console.Output);
    }

    [Fact]
    public async Task TokensList_BrokenConfig_ExitsBadConfig()
    {
        var path = _temp.WriteFile("broken.config", Config.Replace("client_id = 00000000-1111-2222-3333-444444444444", "", StringComparison.Ordinal));
        using var console = new ConsoleCapture();

        var exit = await ProxyCommandLine.InvokeAsync(["tokens", "list", "--config", path]).Guarded();

        Assert.Equal(ProxyCommandLine.ExitBadConfig, exit);
        Assert.Contains("client_id: is required", console.Errors, StringComparison.Ordinal);
    }

    /// <summary>No piece of a secret (8 characters or more) appears: not the tokens, not the signature, not the key.</summary>
    private void AssertNoSecret(string output)
    {
        foreach (var secret in new[] { AccessToken, RefreshToken, Convert.ToBase64String(_key) })
        {
            foreach (var part in secret.Split('.'))
            {
                for (var i = 0; i + 8 <= part.Length; i++)
                {
                    Assert.DoesNotContain(part.Substring(i, 8), output, StringComparison.Ordinal);
                }
            }
        }
    }

    private static string Base64Url(string json) => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(json));
}
