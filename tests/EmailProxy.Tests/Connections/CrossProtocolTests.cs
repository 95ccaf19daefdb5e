using EmailProxy.Connections;

namespace EmailProxy.Tests.Connections;

public sealed class CrossProtocolTests
{
    [Theory]
    [InlineData("POST / HTTP/1.1")]
    [InlineData("GET /favicon.ico HTTP/1.1")]
    [InlineData("OPTIONS * HTTP/1.1")]
    [InlineData("PUT /x HTTP/1.0")]
    [InlineData("PROPFIND /dav HTTP/1.1")]
    [InlineData("Host: 127.0.0.1:1587")]
    [InlineData("host: localhost")]
    [InlineData("Content-Type: text/plain")]
    [InlineData("User-Agent: Mozilla/5.0")]
    [InlineData("Origin: https://evil.example")]
    public void LooksLikeHttp_HttpRequestLines_True(string line) => Assert.True(CrossProtocol.LooksLikeHttp(line));

    [Theory]
    [InlineData("a1 LOGIN user@example.com secret")]
    [InlineData("a1 LOGIN user HTTP/1.1")]
    [InlineData("EHLO client.example")]
    [InlineData("MAIL FROM:<a@b>")]
    [InlineData("USER get")]
    [InlineData("PASS POST / HTTP/1.1 is my password")]
    [InlineData("AUTH PLAIN AHVzZXIAc2VjcmV0")]
    [InlineData("GET")]
    [InlineData("")]
    [InlineData("get / http/1.1")]
    public void LooksLikeHttp_MailCommands_False(string line) => Assert.False(CrossProtocol.LooksLikeHttp(line));
}
