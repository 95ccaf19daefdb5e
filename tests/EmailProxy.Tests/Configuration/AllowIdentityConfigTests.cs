using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Configuration;

/// <summary>allow_identity: the identities besides username that may sign in for an account (a delegate of a shared mailbox).</summary>
public sealed class AllowIdentityConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ConfigReadResult Read(string accountLines) => ConfigReader.ReadFile(_temp.WriteFile($"{Guid.NewGuid():N}.config", $"""
        [server s]
        imap_host = imap.example.com

        [account shared@example.com]
        client_id = id
        {accountLines}

        """));

    [Fact]
    public void ReadFile_SpacesOrCommas_EveryIdentityKeptWithoutWarnings()
    {
        var result = Read("allow_identity = alice@example.com, Bob@Example.com  o'brien@example.com,carol@example.com");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Empty(result.Warnings);
        Assert.Equal(
            ["alice@example.com", "Bob@Example.com", "o'brien@example.com", "carol@example.com"],
            result.Config!.FindAccount("shared@example.com")!.AllowIdentity);
    }

    [Fact]
    public void ReadFile_NoAllowIdentity_EmptyList()
    {
        var result = Read("");

        Assert.Empty(result.Config!.FindAccount("shared@example.com")!.AllowIdentity);
        Assert.Empty(result.Warnings);
    }

    [Theory]
    [InlineData("\"bob@example.com\"")]
    [InlineData("<bob@example.com>")]
    [InlineData("bob@example.com;")]
    [InlineData("bob\tsmith@example.com")]
    [InlineData("`bob@example.com`")]
    public void ReadFile_ValueThatIsNoIdentity_WarnsAndLeavesItOut(string value)
    {
        var result = Read($"allow_identity = alice@example.com {value}");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Assert.Single(result.Warnings);
        Assert.Equal("account shared@example.com", warning.Section);
        Assert.Equal("allow_identity", warning.Key);
        Assert.Contains("is not an identity", warning.Message, StringComparison.Ordinal);
        Assert.Equal(["alice@example.com"], result.Config!.FindAccount("shared@example.com")!.AllowIdentity);
    }

    [Fact]
    public void ReadFile_LongerThanAnAddress_WarnsAndLeavesItOut()
    {
        var result = Read($"allow_identity = {new string('a', 321)}@example.com");

        Assert.Contains("is not an identity", Assert.Single(result.Warnings).Message, StringComparison.Ordinal);
        Assert.Empty(result.Config!.FindAccount("shared@example.com")!.AllowIdentity);
    }

    [Fact]
    public void ReadFile_OnlySeparators_WarnsNamesNobody()
    {
        var result = Read("allow_identity = , ,");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Contains("names nobody", Assert.Single(result.Warnings).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_WithClientCredentials_WarnsIgnored()
    {
        var result = Read("flow = client_credentials\nclient_secret = s\nallow_identity = bob@example.com");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Assert.Single(result.Warnings, w => w.Key == "allow_identity");
        Assert.Contains("ignored with flow = client_credentials", warning.Message, StringComparison.Ordinal);
    }
}
