using EmailProxy.OAuth2;

namespace EmailProxy.Tests.OAuth2;

public sealed class PastedRedirectTests
{
    [Theory]
    [InlineData("http://127.0.0.1:18089/?code=the-code&state=the-state")]
    [InlineData("https://proxy.example.com/callback?state=the-state&code=the-code&session_state=x")]
    [InlineData("  http://localhost:18089/?code=the-code&state=the-state  \r\n")]
    [InlineData("\"http://127.0.0.1:18089/?code=the-code&state=the-state\"")]
    [InlineData("'http://127.0.0.1:18089/?code=the-code&state=the-state'")]
    [InlineData("<http://127.0.0.1:18089/?code=the-code&state=the-state>")]
    [InlineData(" \"<http://127.0.0.1:18089/?code=the-code&state=the-state#fragment>\" ")]
    [InlineData("?code=the-code&state=the-state")]
    [InlineData("code=the-code&state=the-state")]
    [InlineData("code=the%2Dcode&state=the-state")]
    public void Parse_AddressOrQuery_GivesStateAndCode(string text)
    {
        var pasted = PastedRedirect.Parse(text);

        Assert.Null(pasted.Problem);
        Assert.Equal("the-state", pasted.State);
        Assert.Equal("the-code", pasted.Code);
        Assert.Null(pasted.Error);
    }

    [Fact]
    public void Parse_ProviderError_GivesErrorAndDescription()
    {
        var pasted = PastedRedirect.Parse("http://127.0.0.1:18089/?error=access_denied&error_description=AADSTS65004%3A+User+declined&state=s1");

        Assert.Null(pasted.Problem);
        Assert.Equal("s1", pasted.State);
        Assert.Null(pasted.Code);
        Assert.Equal("access_denied", pasted.Error);
        Assert.Equal("AADSTS65004: User declined", pasted.ErrorDescription);
    }

    [Theory]
    [InlineData("http://127.0.0.1:18089/?code=the-code", "no state")]
    [InlineData("http://127.0.0.1:18089/?state=the-state", "no code")]
    [InlineData("http://127.0.0.1:18089/", "no code and no state")]
    [InlineData("http://127.0.0.1:18089/?code=a&code=b&state=s", "code more than once")]
    [InlineData("http://127.0.0.1:18089/?code=a&state=s&state=t", "state more than once")]
    [InlineData("", "nothing was pasted")]
    [InlineData("   \"\"  ", "nothing was pasted")]
    [InlineData("the-code", "not an address")]
    [InlineData("ftp://host/?code=a&state=s", "not an address")]
    [InlineData("hello world = x", "not an address")]
    [InlineData("http://[not an address/?code=a&state=s", "not a valid address")]
    public void Parse_Unusable_GivesOneReasonAndNoValues(string text, string reason)
    {
        var pasted = PastedRedirect.Parse(text);

        Assert.NotNull(pasted.Problem);
        Assert.Contains(reason, pasted.Problem, StringComparison.Ordinal);
        Assert.Null(pasted.State);
        Assert.Null(pasted.Code);
        Assert.DoesNotContain("the-code", pasted.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_LongerThanTheCap_RefusedAsTooLong()
    {
        var text = "http://127.0.0.1:18089/?state=s&code=" + new string('a', PastedRedirect.MaxLength);

        var pasted = PastedRedirect.Parse(text);

        Assert.Contains("longer than 8 KiB", pasted.Problem, StringComparison.Ordinal);
        Assert.Null(pasted.Code);
    }

    [Fact]
    public void Parse_Null_NothingPasted()
    {
        Assert.Equal("nothing was pasted", PastedRedirect.Parse(null).Problem);
    }

    [Fact]
    public void ToString_NeverShowsTheCodeOrState()
    {
        var text = PastedRedirect.Parse("?code=secret-code&state=secret-state").ToString();

        Assert.DoesNotContain("secret-code", text, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-state", text, StringComparison.Ordinal);
    }
}
