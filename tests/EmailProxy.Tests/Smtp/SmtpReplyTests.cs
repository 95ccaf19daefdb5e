using EmailProxy.Smtp;

namespace EmailProxy.Tests.Smtp;

public sealed class SmtpReplyTests
{
    /// <summary>Feeds the lines one by one as the upstream client does; returns what each call returned and the reply.</summary>
    private static (bool[] Ends, SmtpReply Reply) Parse(params string[] received)
    {
        var code = 0;
        var lines = new List<string>();
        var ends = received.Select(line => SmtpReply.TryParseLine(line, ref code, lines)).ToArray();
        return (ends, new SmtpReply(code, lines));
    }

    [Fact]
    public void TryParseLine_SingleLine235_ParsesCodeEnhancedCodeAndText()
    {
        var (ends, reply) = Parse("235 2.7.0 Authentication successful");

        Assert.Equal([true], ends);
        Assert.Equal(235, reply.Code);
        Assert.Equal("2.7.0", reply.EnhancedCode);
        Assert.Equal("Authentication successful", reply.Text);
        Assert.True(reply.IsPositive);
    }

    [Fact]
    public void TryParseLine_MultiLineEhlo_EndsOnlyOnLastLine()
    {
        var (ends, reply) = Parse("250-host Hello", "250-SIZE 157286400", "250-STARTTLS", "250 AUTH LOGIN XOAUTH2");

        Assert.Equal([false, false, false, true], ends);
        Assert.Equal(250, reply.Code);
        Assert.Equal(["host Hello", "SIZE 157286400", "STARTTLS", "AUTH LOGIN XOAUTH2"], reply.Lines);
        Assert.True(reply.IsPositive);
        Assert.Null(reply.EnhancedCode);
    }

    [Fact]
    public void HasExtension_MultiLineEhlo_FindsAdvertisedKeywordsOnly()
    {
        var (_, reply) = Parse("250-host Hello", "250-SIZE 157286400", "250-STARTTLS", "250 AUTH LOGIN XOAUTH2");

        Assert.True(reply.HasExtension("STARTTLS"));
        Assert.True(reply.HasExtension("AUTH"));
        Assert.True(reply.HasExtension("SIZE"));
        Assert.True(reply.HasExtension("starttls"));
        Assert.False(reply.HasExtension("CHUNKING"));
        Assert.False(reply.HasExtension("LOGIN"));
    }

    [Fact]
    public void HasExtension_GreetingLine_IsNotAnExtension()
    {
        var (_, reply) = Parse("250-host Hello", "250 STARTTLS");

        Assert.False(reply.HasExtension("host"));
        Assert.True(reply.HasExtension("STARTTLS"));
    }

    [Fact]
    public void TryParseLine_GmailMultiLine535_TextJoinsWithoutCodes()
    {
        var (ends, reply) = Parse(
            "535-5.7.8 Username and Password not accepted. For more information, go to",
            "535 5.7.8  https://support.google.com/mail/?p=BadCredentials d2e1a72fcca58-7b0 - gsmtp");

        Assert.Equal([false, true], ends);
        Assert.Equal(535, reply.Code);
        Assert.Equal("5.7.8", reply.EnhancedCode);
        Assert.False(reply.IsPositive);
        Assert.Equal(
            "Username and Password not accepted. For more information, go to https://support.google.com/mail/?p=BadCredentials d2e1a72fcca58-7b0 - gsmtp",
            reply.Text);
        Assert.DoesNotContain("535", reply.Text);
        Assert.DoesNotContain("5.7.8", reply.Text);
    }

    [Fact]
    public void TryParseLine_Exchange535SmtpClientAuthenticationDisabled_EnhancedCodeHasThreeDigitDetail()
    {
        var (_, reply) = Parse(
            "535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant. Visit https://aka.ms/smtp_auth_disabled for more information. [AM0PR02CA0001.eurprd02.prod.outlook.com]");

        Assert.Equal(535, reply.Code);
        Assert.Equal("5.7.139", reply.EnhancedCode);
        Assert.StartsWith("Authentication unsuccessful, SmtpClientAuthentication is disabled for the Tenant.", reply.Text);
    }

    [Fact]
    public void TryParseLine_334WithEmptyChallenge_ParsesWithEmptyText()
    {
        var (ends, reply) = Parse("334 ");

        Assert.Equal([true], ends);
        Assert.Equal(334, reply.Code);
        Assert.Equal([""], reply.Lines);
        Assert.Equal("", reply.Text);
        Assert.Null(reply.EnhancedCode);
        Assert.True(reply.IsPositive);
    }

    [Fact]
    public void TryParseLine_334WithBase64Challenge_KeepsChallengeAsText()
    {
        var (ends, reply) = Parse("334 eyJzdGF0dXMiOiI0MDAifQ==");

        Assert.Equal([true], ends);
        Assert.Equal(334, reply.Code);
        Assert.Equal("eyJzdGF0dXMiOiI0MDAifQ==", reply.Text);
        Assert.Null(reply.EnhancedCode);
    }

    [Fact]
    public void TryParseLine_CodeOnly_EndsReply()
    {
        var (ends, reply) = Parse("250");

        Assert.Equal([true], ends);
        Assert.Equal(250, reply.Code);
    }

    [Fact]
    public void EnhancedCode_GreetingWithoutEnhancedCode_IsNull()
    {
        var (_, reply) = Parse("220 smtp.example ESMTP");

        Assert.Equal(220, reply.Code);
        Assert.Null(reply.EnhancedCode);
        Assert.Equal("smtp.example ESMTP", reply.Text);
    }

    [Theory]
    [InlineData("hello")]
    [InlineData("99 x")]
    [InlineData("600 x")]
    [InlineData("199 x")]
    [InlineData("250x")]
    [InlineData("")]
    [InlineData("25")]
    [InlineData("+50 x")]
    public void TryParseLine_MalformedLine_ThrowsFormatException(string line)
    {
        var code = 0;
        var lines = new List<string>();

        Assert.Throws<FormatException>(() => SmtpReply.TryParseLine(line, ref code, lines));
    }

    [Fact]
    public void TryParseLine_CodeChangesWithinReply_ThrowsFormatException()
    {
        var code = 0;
        var lines = new List<string>();

        Assert.False(SmtpReply.TryParseLine("250-a", ref code, lines));
        Assert.Throws<FormatException>(() => SmtpReply.TryParseLine("251 b", ref code, lines));
    }

    [Fact]
    public void ToString_SingleLine_IsCodeAndText()
    {
        var (_, reply) = Parse("535 5.7.3 Authentication unsuccessful");

        Assert.Equal("535 5.7.3 Authentication unsuccessful", reply.ToString());
    }

    [Fact]
    public void ToString_EmptyChallenge_HasNoTrailingSpace()
    {
        var (_, reply) = Parse("334 ");

        Assert.Equal("334", reply.ToString());
    }
}
