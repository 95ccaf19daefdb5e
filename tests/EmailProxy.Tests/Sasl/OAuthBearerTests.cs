using System.Text;
using EmailProxy.Sasl;

namespace EmailProxy.Tests.Sasl;

/// <summary>RFC 7628's OAUTHBEARER initial response and the choice between it and XOAUTH2.</summary>
public sealed class OAuthBearerTests
{
    [Fact]
    public void InitialResponse_MailboxHostPortToken_Rfc7628Layout()
    {
        var response = OAuthBearer.InitialResponse("user@example.com", "imap.example.com", 993, "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");

        Assert.Equal("n,a=user@example.com,\u0001host=imap.example.com\u0001port=993\u0001auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\u0001\u0001",
            Encoding.UTF8.GetString(Convert.FromBase64String(response)));
    }

    [Fact]
    public void Message_CommaAndEqualsInTheMailbox_EscapedAsASaslname()
    {
        Assert.StartsWith("n,a=odd=2Cname=3Dx@example.com,\u0001", OAuthBearer.Message("odd,name=x@example.com", "h", 1, "t"), StringComparison.Ordinal);
    }

    [Fact]
    public void ErrorChallengeAnswer_OAuthBearerSendsOneCtrlA_XOAuth2AnEmptyLine()
    {
        Assert.Equal([1], Convert.FromBase64String(UpstreamSasl.ErrorChallengeAnswer(SaslMechanism.OAuthBearer)));
        Assert.Equal("", UpstreamSasl.ErrorChallengeAnswer(SaslMechanism.XOAuth2));
    }

    [Theory]
    [InlineData("XOAuth2", null, "XOAuth2")]
    [InlineData("XOAuth2", "PLAIN XOAUTH2 OAUTHBEARER", "XOAuth2")]
    [InlineData("XOAuth2", "PLAIN OAUTHBEARER", "OAuthBearer")]
    [InlineData("XOAuth2", "PLAIN LOGIN", "XOAuth2")]
    [InlineData("OAuthBearer", "XOAUTH2 OAUTHBEARER", "OAuthBearer")]
    [InlineData("OAuthBearer", "LOGIN XOAUTH2", "XOAuth2")]
    [InlineData("OAuthBearer", null, "OAuthBearer")]
    public void Choose_ConfiguredUnlessTheServerOffersOnlyTheOther(string configured, string? advertised, string expected)
    {
        Assert.Equal(Enum.Parse<SaslMechanism>(expected), UpstreamSasl.Choose(Enum.Parse<SaslMechanism>(configured), advertised?.Split(' ')));
    }

    [Fact]
    public void InitialResponse_XOAuth2_UnchangedFormat()
    {
        Assert.Equal(XOAuth2.InitialResponse("u@example.com", "tok"), UpstreamSasl.InitialResponse(SaslMechanism.XOAuth2, "u@example.com", "h", 993, "tok"));
    }
}
