using System.Text;
using EmailProxy.Sasl;

namespace EmailProxy.Tests.Sasl;

public sealed class SaslCredentialsTests
{
    [Fact]
    public void ParsePlain_WithoutAuthzid_ReturnsAuthcidAndPassword()
    {
        var credentials = SaslCredentials.ParsePlain("\0alice@example.com\0s3cret"u8);

        Assert.NotNull(credentials);
        Assert.Equal("alice@example.com", credentials.Username);
        Assert.Equal("s3cret", credentials.Password);
    }

    [Fact]
    public void ParsePlain_WithAuthzid_ReturnsAuthcid()
    {
        var credentials = SaslCredentials.ParsePlain("admin\0alice@example.com\0s3cret"u8);

        Assert.NotNull(credentials);
        Assert.Equal("alice@example.com", credentials.Username);
        Assert.Equal("s3cret", credentials.Password);
    }

    [Fact]
    public void ParsePlain_Utf8PasswordWithNoNulInside_IsDecoded()
    {
        var credentials = SaslCredentials.ParsePlain(Encoding.UTF8.GetBytes("\0jürgen\0pässwörd✓"));

        Assert.NotNull(credentials);
        Assert.Equal("jürgen", credentials.Username);
        Assert.Equal("pässwörd✓", credentials.Password);
    }

    [Fact]
    public void ParsePlain_EmptyPassword_IsKept()
    {
        var credentials = SaslCredentials.ParsePlain("\0alice\0"u8);

        Assert.NotNull(credentials);
        Assert.Equal("", credentials.Password);
    }

    [Theory]
    [InlineData("alice s3cret")]
    [InlineData("alice\0s3cret")]
    [InlineData("")]
    [InlineData("\0\0s3cret")]
    public void ParsePlain_MissingNulsOrUser_ReturnsNull(string message)
    {
        Assert.Null(SaslCredentials.ParsePlain(Encoding.UTF8.GetBytes(message)));
    }

    [Fact]
    public void DecodeBase64_EqualsSign_ReturnsEmpty()
    {
        var bytes = SaslCredentials.DecodeBase64("=");

        Assert.NotNull(bytes);
        Assert.Empty(bytes);
    }

    [Fact]
    public void DecodeBase64_ValidWithCrLf_ReturnsBytes()
    {
        Assert.Equal("\0alice\0s3cret"u8.ToArray(), SaslCredentials.DecodeBase64("AGFsaWNlAHMzY3JldA==\r\n"));
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("AGFsaWNl*")]
    [InlineData("abc")]
    public void DecodeBase64_Invalid_ReturnsNull(string text)
    {
        Assert.Null(SaslCredentials.DecodeBase64(text));
    }

    [Fact]
    public void ClientCredentials_ToString_DoesNotContainPassword()
    {
        var credentials = new ClientCredentials("alice@example.com", "hunter2-very-secret");

        var text = credentials.ToString();

        Assert.Contains("alice@example.com", text, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-very-secret", text, StringComparison.Ordinal);
    }
}
