using System.Net;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>
/// Sign-ins across replicas: started on one, completed by a redirect delivered to another (once only, however often it is
/// replayed), a device code shown by every replica, and the logins waiting on any replica told of the end.
/// </summary>
public sealed partial class RedisSignInTests(RedisSignInFixture fixture) : IClassFixture<RedisSignInFixture>
{
    [Fact]
    public async Task Redirect_SignInStartedOnADeliveredToC_AsWaitingLoginSucceedsAndBNeedsNoSignIn()
    {
        const string account = RedisSignInFixture.WaitingAccount;
        var (a, b, c) = (fixture.Set.Replicas[0], fixture.Set.Replicas[1], fixture.Set.Replicas[2]);
        var identity = fixture.Environment.Identity;
        var codesBefore = identity.AuthorizationCodeRequests;

        await using var waiting = await StartWaitingLoginAsync(a, account);
        var redirect = await ProviderRedirectAsync(await AuthorizeUrlLoggedAsync(a, account));
        var (status, page) = await GetAsync(Retarget(redirect, c));

        Assert.True(status == HttpStatusCode.OK && page.Contains("signed in", StringComparison.Ordinal), $"{status}: {page}");
        var answer = await waiting.ReadUntilAsync(line => line.StartsWith("w1 ", StringComparison.Ordinal));
        Assert.True(answer.StartsWith("w1 OK", StringComparison.Ordinal), answer + "\n" + a.Process.Describe());
        Assert.StartsWith("l1 OK", await ScaleOutSteps.ImapLoginAsync(b.ImapPort, account), StringComparison.Ordinal);
        Assert.Equal(codesBefore + 1, identity.AuthorizationCodeRequests);
        Assert.Single(identity.AuthorizeRequests, r => string.Equals(r.LoginHint, account, StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(b.Process.Output, line => line.Contains($"OAuth2 sign-in needed for account {account}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Redirect_ReplayedToTwoReplicas_CodeRedeemedOnce()
    {
        const string account = RedisSignInFixture.ReplayedAccount;
        var (a, b, c) = (fixture.Set.Replicas[0], fixture.Set.Replicas[1], fixture.Set.Replicas[2]);
        var identity = fixture.Environment.Identity;
        var codesBefore = identity.AuthorizationCodeRequests;

        await using var waiting = await StartWaitingLoginAsync(b, account);
        var redirect = await ProviderRedirectAsync(await AuthorizeUrlLoggedAsync(b, account));
        var pages = await Task.WhenAll(GetAsync(Retarget(redirect, a)), GetAsync(Retarget(redirect, c)));

        var signedIn = Assert.Single(pages, page => page.Status == HttpStatusCode.OK);
        Assert.Contains("signed in", signedIn.Body, StringComparison.Ordinal);
        var refused = Assert.Single(pages, page => page.Status != HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);
        Assert.Contains("unknown or has expired", refused.Body, StringComparison.Ordinal);
        Assert.Equal(codesBefore + 1, identity.AuthorizationCodeRequests);
        Assert.StartsWith("w1 OK", await waiting.ReadUntilAsync(line => line.StartsWith("w1 ", StringComparison.Ordinal)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeviceCode_StartedOnA_ShownByBsStatusPageWithTheSameCodeAndPolledByAOnly()
    {
        const string account = RedisSignInFixture.DeviceAccount;
        var (a, b) = (fixture.Set.Replicas[0], fixture.Set.Replicas[1]);
        var identity = fixture.Environment.Identity;

        await using var waiting = await StartWaitingLoginAsync(a, account);
        var logged = await a.Process.WaitForLineAsync(line => line.Contains($"OAuth2 sign-in needed for account {account}", StringComparison.Ordinal)
            && UserCodePattern().IsMatch(line));
        var code = UserCodePattern().Match(logged).Groups[1].Value;
        var (status, json) = await GetAsync(new Uri(b.HttpAddress, "/status.json"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains($"\"{code}\"", json, StringComparison.Ordinal);
        Assert.Equal(code, Assert.Single(identity.IssuedUserCodes));
        identity.ApproveDeviceCode(code, account);
        Assert.StartsWith("w1 OK", await waiting.ReadUntilAsync(line => line.StartsWith("w1 ", StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.DoesNotContain(b.Process.Output, line => line.Contains("polled from this replica", StringComparison.Ordinal));
        Assert.Single(identity.TokenRequests, r => r.GrantType == FakeIdentityServer.DeviceCodeGrant && r.StatusCode == 200);
    }

    /// <summary>An IMAP LOGIN at the replica's own port that waits for the sign-in it starts (tag w1); the caller reads its answer.</summary>
    private static async Task<LineClient> StartWaitingLoginAsync(Replica replica, string account)
    {
        var client = await LineClient.ConnectAsync(replica.ImapPort);
        await client.ReadLineAsync();
        await client.WriteAsync($"w1 LOGIN {account} {ScaleOutSteps.Password}\r\n");
        return client;
    }

    /// <summary>The provider's authorize URL the replica logged for the account's sign-in.</summary>
    private static async Task<Uri> AuthorizeUrlLoggedAsync(Replica replica, string account)
    {
        var line = await replica.Process.WaitForLineAsync(text => text.Contains($"OAuth2 sign-in needed for account {account}", StringComparison.Ordinal)
            && UrlPattern().IsMatch(text));
        return new Uri(UrlPattern().Match(line).Value);
    }

    /// <summary>What the person's browser does at the provider: the authorize URL answers with the redirect to the public redirect URI, which is returned.</summary>
    private static async Task<Uri> ProviderRedirectAsync(Uri authorize)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = ObservableLog.DefaultTimeout };
        using var response = await http.GetAsync(authorize);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        return new Uri(authorize, response.Headers.Location!);
    }

    /// <summary>The redirect to the public redirect URI (the balancer's), delivered to this replica's own listener instead.</summary>
    private static Uri Retarget(Uri redirect, Replica replica) => new UriBuilder(redirect) { Port = replica.HttpPort }.Uri;

    private static async Task<(HttpStatusCode Status, string Body)> GetAsync(Uri uri)
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = ObservableLog.DefaultTimeout };
        using var response = await http.GetAsync(uri);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [GeneratedRegex(@"https?://\S+")]
    private static partial Regex UrlPattern();

    [GeneratedRegex(@"enter ([A-Z0-9-]+) ")]
    private static partial Regex UserCodePattern();
}
