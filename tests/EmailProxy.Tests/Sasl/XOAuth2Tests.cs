using System.Text;
using EmailProxy.Sasl;

namespace EmailProxy.Tests.Sasl;

public sealed class XOAuth2Tests
{
    [Fact]
    public void InitialResponse_UserAndToken_DecodesToExactSaslString()
    {
        var response = XOAuth2.InitialResponse("user@x", "tok");

        Assert.Equal("user=user@x\u0001auth=Bearer tok\u0001\u0001", Encoding.UTF8.GetString(Convert.FromBase64String(response)));
    }

    [Fact]
    public void InitialResponse_KnownValue_MatchesGoogleDocumentation()
    {
        // The example of Google's XOAUTH2 documentation.
        var response = XOAuth2.InitialResponse("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");

        Assert.Equal(
            "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==",
            response);
    }

    [Fact]
    public void DecodeErrorChallenge_GmailStyleJson_ReturnsJsonText()
    {
        const string json = "{\"status\":\"401\",\"schemes\":\"Bearer\",\"scope\":\"https://mail.google.com/\"}";
        var challenge = Convert.ToBase64String(Encoding.UTF8.GetBytes(json));

        Assert.Equal(json, XOAuth2.DecodeErrorChallenge(challenge));
        Assert.Equal(json, XOAuth2.DecodeErrorChallenge(" " + challenge + "\r\n"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("not base64!")]
    [InlineData("abc")]
    public void DecodeErrorChallenge_NotBase64_ReturnsNull(string challenge)
    {
        Assert.Null(XOAuth2.DecodeErrorChallenge(challenge));
    }
}
