using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Configuration;

namespace EmailProxy.Tests.Configuration;

public sealed class AccountNameRulesTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private static string Account(string name) => $"""

        [account {name}]
        client_id = id
        server = s

        """;

    private ConfigReadResult Read(params string[] accountNames) =>
        ConfigReader.ReadFile(_temp.WriteFile($"{Guid.NewGuid():N}.config", "[server s]\nimap_host = imap.example.com\n" + string.Concat(accountNames.Select(Account))));

    [Fact]
    public void ReadFile_KelvinSignAndLetterK_RefusedNamingBothSections()
    {
        var result = Read("\u212Aate@example.com", "kate@example.com");

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors).ToString();
        Assert.Contains("[account \u212Aate@example.com]", error, StringComparison.Ordinal);
        Assert.Contains("[account kate@example.com]", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a/b@example.com", "'/'")]
    [InlineData("a\\b@example.com", "'/'")]
    [InlineData("a..b@example.com", "'..'")]
    [InlineData("..", "'..'")]
    [InlineData("a\u202Eb@example.com", "U+202E")]
    public void ReadFile_NameThatCannotNameAFile_RefusedWithItsSection(string name, string reason)
    {
        var result = Read(name);

        var error = Assert.Single(result.Errors);
        Assert.Equal($"account {name}", error.Section);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\0b")]
    [InlineData("a\rb")]
    [InlineData("a\u0001b")]
    [InlineData("unpaired surrogate")]
    public void Read_ControlCharacterOrBrokenUnicodeInName_Refused(string name)
    {
        // xUnit cannot carry an unpaired surrogate in InlineData: it is made here.
        name = name == "unpaired surrogate" ? "a" + (char)0xD800 + "b" : name;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["server s:imap_host"] = "imap.example.com",
            [$"account {name}:client_id"] = "id",
            [$"account {name}:server"] = "s",
        }).Build();

        var result = ConfigReader.Read(configuration, _temp.Combine("emailproxy.config"));

        Assert.False(result.IsValid);
        Assert.Contains("account name", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_NameWhoseFileNameIsTooLong_Refused()
    {
        var result = Read(new string('\u00E9', 50) + "@example.com");

        Assert.Contains("too long", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_OrdinaryNamesDifferingInNonAsciiLetters_Accepted()
    {
        var result = Read("\u00C9lodie@example.com", "elodie@example.com", "sales+eu@example.com", "a.b@example.com");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.NotNull(result.Config!.FindAccount("\u00E9lodie@example.com"));
    }
}
