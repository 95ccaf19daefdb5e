using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Configuration;

/// <summary><c>[account *@domain]</c> templates as the configuration reader reads them and the accounts they make.</summary>
public sealed class AccountTemplateConfigTests : IDisposable
{
    private const string Server = """
        [server s]
        imap_host = imap.example.com

        """;

    private const string Template = Server + """
        [account *@contoso.com]
        client_id = template-app
        tenant = contoso.com
        allow_identity = helpdesk@contoso.com
        max_accounts = 2

        """;

    private static readonly DateTimeOffset Now = new(2026, 12, 6, 12, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ConfigReadResult Read(string ini) => ConfigReader.ReadFile(_temp.WriteFile($"{Guid.NewGuid():N}.config", ini));

    private ProxyConfig Valid(string ini)
    {
        var read = Read(ini);
        Assert.True(read.IsValid, string.Join("; ", read.Errors));
        return read.Config!;
    }

    [Theory]
    [InlineData("bob@contoso.com", true)]
    [InlineData("BOB@Contoso.COM", true)]
    [InlineData("bob@contoso.com.evil.example", false)]
    [InlineData("bob@sub.contoso.com", false)]
    [InlineData("contoso.com", false)]
    public void TemplateFor_GlobOnTheLoginName_MatchesTheWholeNameCaseInsensitively(string login, bool matches)
    {
        var config = Valid(Template);

        Assert.Equal(matches, config.TemplateFor(login) is not null);
    }

    [Fact]
    public void TemplateFor_QuestionMark_MatchesOneCharacter()
    {
        var config = Valid(Server + "[account user?@example.com]\nclient_id = id\n");

        Assert.NotNull(config.TemplateFor("user1@example.com"));
        Assert.Null(config.TemplateFor("user12@example.com"));
    }

    [Fact]
    public void ResolveAccount_MatchingLoginName_MakesAnAccountWithTheTemplatesKeysAndTheNameAsUsername()
    {
        var config = Valid(Template);

        var (account, refusal) = config.ResolveAccount("Bob@contoso.com", Now);

        Assert.Null(refusal);
        Assert.NotNull(account);
        Assert.Equal("Bob@contoso.com", account.Name);
        Assert.Equal("Bob@contoso.com", account.Username);
        Assert.Equal("*@contoso.com", account.Template);
        Assert.Equal("template-app", account.ClientId);
        Assert.Equal("contoso.com", account.Tenant);
        Assert.Equal(["helpdesk@contoso.com"], account.AllowIdentity);
        Assert.Null(account.PasswordHash);
        Assert.Same(account, config.FindAccount("bob@CONTOSO.com"));
        Assert.Equal(["Bob@contoso.com"], config.CreatedAccounts.Select(a => a.Name));
        Assert.Empty(config.Accounts);
    }

    [Fact]
    public void FindAccount_BeforeAnyLogin_FindsNoAccountOfATemplate()
    {
        var config = Valid(Template);

        Assert.Null(config.FindAccount("bob@contoso.com"));
        Assert.Empty(config.CreatedAccounts);
    }

    [Fact]
    public void ResolveAccount_AccountNamedInTheFile_WinsOverTheTemplate()
    {
        var config = Valid(Template + "[account boss@contoso.com]\nclient_id = own-app\n");

        var (account, _) = config.ResolveAccount("boss@contoso.com", Now);

        Assert.Equal("own-app", account!.ClientId);
        Assert.Null(account.Template);
        Assert.Empty(config.CreatedAccounts);
    }

    [Fact]
    public void ResolveAccount_TwoTemplatesMatch_TheFirstInTheFileWins()
    {
        // The INI reader orders sections by name ("*@…" after "sales*"): the file's order must win.
        var config = Valid(Server + "[account sales*]\nclient_id = sales-app\n\n[account *@contoso.com]\nclient_id = contoso-app\n");

        Assert.Equal("sales-app", config.ResolveAccount("sales@contoso.com", Now).Account!.ClientId);
        Assert.Equal("contoso-app", config.ResolveAccount("bob@contoso.com", Now).Account!.ClientId);
    }

    [Fact]
    public void ResolveAccount_PastMaxAccounts_RefusesWithTheTemplateAndTheKey()
    {
        var config = Valid(Template);
        config.Created.Keep(config.ResolveAccount("a@contoso.com", Now).Account!.Name);
        config.Created.Keep(config.ResolveAccount("b@contoso.com", Now).Account!.Name);

        var (account, refusal) = config.ResolveAccount("c@contoso.com", Now.AddDays(1));

        Assert.Null(account);
        Assert.Contains("[account *@contoso.com]", refusal, StringComparison.Ordinal);
        Assert.Contains("max_accounts = 2", refusal, StringComparison.Ordinal);
        Assert.Null(config.FindAccount("c@contoso.com"));
        Assert.NotNull(config.ResolveAccount("a@contoso.com", Now).Account);
    }

    [Fact]
    public void ResolveAccount_FullOfTentativeAccountsPastASignInsLife_GivesTheirPlacesBack()
    {
        var config = Valid(Template);
        config.ResolveAccount("tried1@contoso.com", Now);
        config.ResolveAccount("tried2@contoso.com", Now);

        Assert.NotNull(config.ResolveAccount("early@contoso.com", Now.AddMinutes(1)).Refusal);
        var (account, refusal) = config.ResolveAccount("late@contoso.com", Now + TemplateAccounts.TentativeLifetime);

        Assert.Null(refusal);
        Assert.NotNull(account);
        Assert.Null(config.FindAccount("tried1@contoso.com"));
        // The names given back are forgotten too: only late@ is held (memory does not grow with every name tried).
        Assert.Equal(1, Assert.Single(config.Templates).MadeCount);
    }

    [Theory]
    [InlineData("../x@contoso.com")]
    [InlineData("a/b@contoso.com")]
    [InlineData("a\u0000b@contoso.com")]
    [InlineData("a\u200Bb@contoso.com")]
    public void ResolveAccount_NameUnsafeForATokenFile_RefusedAndNothingMade(string login)
    {
        var config = Valid(Server + "[account *]\nclient_id = id\n");

        var (account, refusal) = config.ResolveAccount(login, Now);

        Assert.Null(account);
        Assert.Contains("cannot be an account's name", refusal, StringComparison.Ordinal);
        Assert.Empty(config.Created.Names());
    }

    [Fact]
    public void ResolveAccount_NameThatOnlyUnicodeCaseFoldingTellsFromANamedAccount_Refused()
    {
        // U+212A KELVIN SIGN lower-cases to 'k'.
        var config = Valid(Server + "[account kim@contoso.com]\nclient_id = id\n\n[account *@contoso.com]\nclient_id = id\n");

        var (account, refusal) = config.ResolveAccount("\u212Aim@contoso.com", Now);

        Assert.Null(account);
        Assert.Contains("cannot be told apart", refusal, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("password_hash = AQAAAAEAACcQAAAAEJ1P3qJ8n0aW6zQeN4uZQ8Hn0mF1M2u0J8YcE8u1g3Vq6S7y2x9n4mQe3Z5k1f2g0A==", "[account *@contoso.com] password_hash")]
    [InlineData("username = shared@contoso.com", "[account *@contoso.com] username")]
    [InlineData("token_from = someone", "[account *@contoso.com] token_from")]
    [InlineData("max_accounts = 0", "[account *@contoso.com] max_accounts")]
    public void Read_TemplateWithAKeyItMayNotHave_IsAnError(string line, string expected)
    {
        var read = Read(Server + "[account *@contoso.com]\nclient_id = id\n" + line + "\n");

        Assert.False(read.IsValid);
        Assert.Contains(read.Errors, error => error.ToString().StartsWith(expected, StringComparison.Ordinal));
        Assert.DoesNotContain(read.Errors, error => error.ToString().Contains("AQAAAAEAACcQ", StringComparison.Ordinal));
    }

    [Fact]
    public void Read_OnlyATemplate_HasNoNoAccountWarning()
    {
        var read = Read(Template);

        Assert.True(read.IsValid);
        Assert.DoesNotContain(read.Warnings, warning => warning.ToString().Contains("no [account NAME] section", StringComparison.Ordinal));
    }

    [Fact]
    public void Read_MaxAccountsOnANamedAccount_IsAWarning()
    {
        var read = Read(Server + "[account a]\nclient_id = id\nmax_accounts = 5\n");

        Assert.True(read.IsValid);
        Assert.Contains(read.Warnings, warning => warning.ToString().StartsWith("[account a] max_accounts", StringComparison.Ordinal));
    }

    [Fact]
    public void Restore_TokenFilesOfMadeAccounts_MakesThemAgainKeptAndSkipsOthers()
    {
        var config = Valid(Template + "[account named@contoso.com]\nclient_id = id\n");

        var restored = config.Created.Restore(config, ["bob@contoso.com", "named@contoso.com", "stranger@example.com", "a@contoso.com", "b@contoso.com"], Now);

        Assert.Equal(["bob@contoso.com", "a@contoso.com", "b@contoso.com"], restored);
        Assert.Equal("*@contoso.com", config.FindAccount("bob@contoso.com")!.Template);
        // Restored past max_accounts (they were made before); a new one is refused.
        Assert.NotNull(config.ResolveAccount("new@contoso.com", Now.AddDays(1)).Refusal);
    }

    [Fact]
    public void Pin_Reload_KeepsMadeAccountsWithTheNewTemplatesKeys()
    {
        var running = Valid(Template);
        running.ResolveAccount("bob@contoso.com", Now);
        var file = Valid(Template.Replace("tenant = contoso.com", "tenant = other.example", StringComparison.Ordinal));

        var (next, _) = ConfigChanges.Pin(running, file);

        Assert.Same(running.Created, next.Created);
        Assert.Equal("other.example", next.FindAccount("bob@contoso.com")!.Tenant);
        Assert.Equal("contoso.com", running.FindAccount("bob@contoso.com")!.Tenant);
    }

    [Fact]
    public void Pin_ReloadWithoutTheTemplate_NoLongerFindsItsAccounts()
    {
        var running = Valid(Template);
        running.ResolveAccount("bob@contoso.com", Now);

        var (next, _) = ConfigChanges.Pin(running, Valid(Server + "[account other]\nclient_id = id\n"));

        Assert.Null(next.FindAccount("bob@contoso.com"));
    }
}
