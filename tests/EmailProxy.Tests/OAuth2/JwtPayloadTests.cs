using System.Text;
using EmailProxy.OAuth2;

namespace EmailProxy.Tests.OAuth2;

public sealed class JwtPayloadTests
{
    [Fact]
    public void TryRead_UnsignedJwtWithClaims_ReadsThem()
    {
        var token = TestJwt.Create("{\"upn\":\"sales@example.com\",\"tid\":\"t\",\"aud\":[\"a\",\"b\"]}");

        Assert.True(JwtPayload.TryRead(token, out var payload));
        Assert.Equal("sales@example.com", JwtPayload.StringClaim(payload, "upn"));
        Assert.Null(JwtPayload.StringClaim(payload, "aud"));
        Assert.Null(JwtPayload.StringClaim(payload, "missing"));
    }

    [Fact]
    public void TryRead_SignedJwtFromMicrosoftShape_ReadsThePayloadOnly()
    {
        var token = TestJwt.Create(new { unique_name = "bob@example.com" })[..^1] + ".c2lnbmF0dXJl";

        Assert.True(JwtPayload.TryRead(token, out var payload));
        Assert.Equal("bob@example.com", JwtPayload.StringClaim(payload, "unique_name"));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("ya29.a0AfH6SMBopaque-google-token")]
    [InlineData("fake-at-opaque")]
    [InlineData("a.b.c")]
    [InlineData("a..c")]
    [InlineData("x.!!!.y")]
    [InlineData("a.e30.b.c.d")]
    [InlineData("...")]
    public void TryRead_NotAReadableJwt_IsFalse(string? token)
    {
        Assert.False(JwtPayload.TryRead(token, out _));
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[\"upn\",\"sales@example.com\"]")]
    [InlineData("\"sales@example.com\"")]
    [InlineData("{\"upn\":")]
    [InlineData("{\"upn\":\"a\"} trailing")]
    public void TryRead_PayloadNotAJsonObject_IsFalse(string payload)
    {
        Assert.False(JwtPayload.TryRead(TestJwt.Create(payload), out _));
    }

    [Fact]
    public void TryRead_PayloadNotUtf8_IsFalse()
    {
        Assert.False(JwtPayload.TryRead(TestJwt.FromPayloadBytes([(byte)'{', 0xC3, 0x28, (byte)'}']), out _));
    }

    [Fact]
    public void TryRead_NestedDeeperThanTheCap_IsFalse()
    {
        var deep = new string('[', 100) + new string(']', 100);

        Assert.False(JwtPayload.TryRead(TestJwt.Create($"{{\"upn\":\"a@b\",\"x\":{deep}}}"), out _));
    }

    [Fact]
    public void TryRead_LongerThanTheCap_IsFalseAndShorterIsRead()
    {
        var filler = new string('x', JwtPayload.MaxTokenLength);
        var huge = TestJwt.Create(new { upn = "sales@example.com", filler });

        Assert.False(JwtPayload.TryRead(huge, out _));
        Assert.True(JwtPayload.TryRead(TestJwt.Create(new { upn = "sales@example.com", filler = filler[..1000] }), out _));
    }

    [Fact]
    public void StringClaim_EmptyOrTooLongOrNotAString_IsNull()
    {
        var token = TestJwt.Create(new { empty = "", number = 42, obj = new { a = 1 }, longer = new string('a', JwtPayload.MaxClaimLength + 1), fits = new string('a', JwtPayload.MaxClaimLength) });
        Assert.True(JwtPayload.TryRead(token, out var payload));

        Assert.Null(JwtPayload.StringClaim(payload, "empty"));
        Assert.Null(JwtPayload.StringClaim(payload, "number"));
        Assert.Null(JwtPayload.StringClaim(payload, "obj"));
        Assert.Null(JwtPayload.StringClaim(payload, "longer"));
        Assert.Equal(JwtPayload.MaxClaimLength, JwtPayload.StringClaim(payload, "fits")!.Length);
        Assert.Null(JwtPayload.StringClaim(default, "fits"));
    }

    [Fact]
    public void TryRead_ValidBase64UrlOfGarbageBytes_IsFalse()
    {
        Assert.False(JwtPayload.TryRead(TestJwt.FromPayloadBytes(Encoding.ASCII.GetBytes("\u0001\u0002{")), out _));
    }
}
