using System.Text;
using EmailProxy.Configuration;
using EmailProxy.Sasl;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Upstream;

/// <summary>
/// OAUTHBEARER (RFC 7628) upstream: taken when the server offers only it (IMAP's AUTH= capabilities, SMTP's AUTH
/// line, POP3's refusal of XOAUTH2) or when <c>sasl = oauthbearer</c>; its JSON error challenge answered with ^A.
/// Scripted upstreams on loopback play the servers.
/// </summary>
public sealed class OAuthBearerUpstreamTests
{
    private const string Status = "{\"status\":\"invalid_token\",\"scope\":\"mail\",\"openid-configuration\":\"https://id.example/.well-known/openid-configuration\"}";

    private static ServerOptions Loopback(ScriptedUpstream upstream) => new("scripted")
    {
        ImapHost = "127.0.0.1",
        ImapPort = upstream.Port,
        PopHost = "127.0.0.1",
        PopPort = upstream.Port,
        SmtpHost = "127.0.0.1",
        SmtpPort = upstream.Port,
        Ssl = false,
        StartTls = false,
    };

    private static string Decoded(string base64) => Encoding.UTF8.GetString(Convert.FromBase64String(base64));

    [Fact]
    public async Task LoginUpstreamAsync_ImapServerOffersOnlyOAuthBearer_AuthenticatesWithOAuthBearerNamingHostAndPort()
    {
        await using var upstream = new ScriptedUpstream("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=OAUTHBEARER] ready", line =>
            line.StartsWith("P2 AUTHENTICATE OAUTHBEARER ", StringComparison.Ordinal) ? ["P2 OK [CAPABILITY IMAP4rev1 IDLE] Logged in"] : ["* BAD unexpected"]);

        var result = await SessionHarness.Imap().LoginUpstreamAsync(Loopback(upstream), "user@example.com", "the-token", CancellationToken.None).Guarded();

        Assert.True(result.Succeeded, result.RejectedText ?? result.UnavailableReason);
        await result.Connection!.DisposeAsync();
        var sent = Assert.Single(upstream.Received, l => l.StartsWith("P2 ", StringComparison.Ordinal));
        Assert.Equal($"n,a=user@example.com,\u0001host=127.0.0.1\u0001port={upstream.Port}\u0001auth=Bearer the-token\u0001\u0001", Decoded(sent["P2 AUTHENTICATE OAUTHBEARER ".Length..]));
    }

    [Fact]
    public async Task LoginUpstreamAsync_ImapOAuthBearerErrorChallenge_AnsweredWithCtrlAAndRefusedWithTheStatus()
    {
        var challenge = Convert.ToBase64String(Encoding.UTF8.GetBytes(Status));
        await using var upstream = new ScriptedUpstream("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER] ready", line => line switch
        {
            _ when line.StartsWith("P2 AUTHENTICATE OAUTHBEARER ", StringComparison.Ordinal) => [$"+ {challenge}"],
            "AQ==" => ["P2 NO [AUTHENTICATIONFAILED] Authentication failed."],
            _ => ["P2 BAD the error challenge was not answered with ^A"],
        });

        var result = await SessionHarness.Imap().LoginUpstreamAsync(Loopback(upstream), "user@example.com", "expired", CancellationToken.None, sasl: SaslMechanism.OAuthBearer).Guarded();

        Assert.False(result.Succeeded);
        Assert.True(result.TokenRefused);
        Assert.Equal($"[AUTHENTICATIONFAILED] Authentication failed. ({Status})", result.RejectedText);
    }

    [Fact]
    public async Task LoginUpstreamAsync_SmtpServerOffersOnlyOAuthBearer_AuthOAuthBearerInTwoSteps()
    {
        await using var upstream = new ScriptedUpstream("220 smtp.example ESMTP", line => line switch
        {
            _ when line.StartsWith("EHLO ", StringComparison.Ordinal) => ["250-smtp.example", "250-PIPELINING", "250 AUTH PLAIN OAUTHBEARER"],
            "AUTH OAUTHBEARER" => ["334 "],
            _ when line.StartsWith("bixh", StringComparison.Ordinal) => ["235 2.7.0 Accepted"],
            _ => ["500 5.5.2 unexpected"],
        });

        var result = await SessionHarness.Smtp().LoginUpstreamAsync(Loopback(upstream), "user@example.com", "the-token", CancellationToken.None).Guarded();

        Assert.True(result.Succeeded, result.RejectedText ?? result.UnavailableReason);
        await result.Connection!.DisposeAsync();
        Assert.Contains("AUTH OAUTHBEARER", upstream.Received);
        Assert.Contains(upstream.Received, l => l.StartsWith("bixh", StringComparison.Ordinal) && Decoded(l).Contains("auth=Bearer the-token", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LoginUpstreamAsync_Pop3ServerRefusesXOAuth2_TriesOAuthBearerOnce()
    {
        await using var upstream = new ScriptedUpstream("+OK POP3 ready", line => line switch
        {
            "AUTH XOAUTH2" => ["-ERR Unsupported authentication mechanism."],
            "AUTH OAUTHBEARER" => ["+ "],
            _ when line.StartsWith("bixh", StringComparison.Ordinal) => ["+OK Logged in."],
            _ => ["-ERR unexpected"],
        });

        var result = await SessionHarness.Pop3().LoginUpstreamAsync(Loopback(upstream), "user@example.com", "the-token", CancellationToken.None).Guarded();

        Assert.True(result.Succeeded, result.RejectedText ?? result.UnavailableReason);
        await result.Connection!.DisposeAsync();
        Assert.Equal(["AUTH XOAUTH2", "AUTH OAUTHBEARER"], upstream.Received.Take(2));
    }

    [Fact]
    public async Task LoginUpstreamAsync_ImapOffersBothAndAccountSaysXOAuth2_StaysWithXOAuth2()
    {
        await using var upstream = new ScriptedUpstream("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2 AUTH=OAUTHBEARER] ready", line =>
            line.StartsWith("P2 AUTHENTICATE XOAUTH2 ", StringComparison.Ordinal) ? ["P2 OK [CAPABILITY IMAP4rev1] Logged in"] : ["* BAD unexpected"]);

        var result = await SessionHarness.Imap().LoginUpstreamAsync(Loopback(upstream), "user@example.com", "the-token", CancellationToken.None).Guarded();

        Assert.True(result.Succeeded, result.RejectedText ?? result.UnavailableReason);
        await result.Connection!.DisposeAsync();
    }
}
