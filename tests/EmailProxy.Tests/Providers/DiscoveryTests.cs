using System.Net;
using System.Text;
using EmailProxy.Configuration;
using EmailProxy.Providers;
using EmailProxy.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Providers;

/// <summary>An issuer's discovery document: parsing, its bad forms, the cache, re-reading, and check's lines.</summary>
public sealed class DiscoveryTests
{
    private static Uri NewIssuer() => new($"https://id-{Guid.NewGuid():N}.example/realms/mail");

    private static string Document(Uri issuer, bool device = true) =>
        $$"""
        {"issuer":"{{issuer.OriginalString}}","authorization_endpoint":"{{issuer}}/auth","token_endpoint":"{{issuer}}/token"{{(device ? $",\"device_authorization_endpoint\":\"{issuer}/device\"" : "")}},"jwks_uri":"{{issuer}}/certs"}
        """;

    [Fact]
    public void Parse_GoodDocument_TheThreeEndpoints()
    {
        var issuer = NewIssuer();

        var document = DiscoveryDocument.Parse(issuer, Document(issuer), out var problem);

        Assert.Null(problem);
        Assert.Equal($"{issuer}/auth", document!.AuthorizationEndpoint!.AbsoluteUri);
        Assert.Equal($"{issuer}/token", document.TokenEndpoint!.AbsoluteUri);
        Assert.Equal($"{issuer}/device", document.DeviceAuthorizationEndpoint!.AbsoluteUri);
    }

    [Fact]
    public void Parse_IssuerWithTrailingSlash_SameIssuer()
    {
        var issuer = NewIssuer();

        Assert.NotNull(DiscoveryDocument.Parse(new Uri(issuer.OriginalString + "/"), Document(issuer), out _));
    }

    [Theory]
    [InlineData("<html>Not Found</html>", "is not JSON")]
    [InlineData("[1,2]", "is JSON but not an object")]
    [InlineData("{\"token_endpoint\":\"https://id.example/token\"}", "names no issuer")]
    [InlineData("{\"issuer\":\"https://evil.example\",\"token_endpoint\":\"https://evil.example/token\"}", "names the issuer 'https://evil.example'")]
    public void Parse_BadDocument_NullWithTheReason(string json, string reason)
    {
        Assert.Null(DiscoveryDocument.Parse(NewIssuer(), json, out var problem));
        Assert.StartsWith(reason, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PlainHttpEndpointOffLoopback_Refused()
    {
        var issuer = NewIssuer();

        Assert.Null(DiscoveryDocument.Parse(issuer, $"{{\"issuer\":\"{issuer}\",\"token_endpoint\":\"http://id.example/token\"}}", out var problem));
        Assert.Contains("token_endpoint 'http://id.example/token', which is not an https:// URL", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnsureAsync_ReadOnce_CachedForEveryAccountOfTheIssuer()
    {
        var issuer = NewIssuer();
        var handler = new CountingHandler(_ => (HttpStatusCode.OK, Document(issuer)));
        var discovery = new IssuerDiscovery(new HttpClient(handler), TimeProvider.System);
        var metadata = IssuerMetadata.For(issuer);

        Assert.Null(await discovery.EnsureAsync(metadata, CancellationToken.None).Guarded());
        Assert.Null(await discovery.EnsureAsync(metadata, CancellationToken.None).Guarded());

        Assert.Equal(1, handler.Requests);
        Assert.Equal($"{issuer}/.well-known/openid-configuration", handler.LastUri!.AbsoluteUri);
        var account = TestAccounts.Create() with { Provider = OAuthProvider.Generic, AuthorizeUrl = null, TokenUrl = null, Discovery = metadata };
        Assert.Equal($"{issuer}/token", account.TokenUrl!.AbsoluteUri);
        Assert.Equal($"{issuer}/auth", account.AuthorizeUrl!.AbsoluteUri);
    }

    [Fact]
    public async Task EnsureAsync_MissingDocument_ProblemNamesThe404AndTheNextUseReadsAgain()
    {
        var issuer = NewIssuer();
        var found = false;
        var handler = new CountingHandler(_ => found ? (HttpStatusCode.OK, Document(issuer)) : (HttpStatusCode.NotFound, "not here"));
        var discovery = new IssuerDiscovery(new HttpClient(handler), TimeProvider.System);
        var metadata = IssuerMetadata.For(issuer);

        var problem = await discovery.EnsureAsync(metadata, CancellationToken.None).Guarded();

        Assert.Equal($"the discovery document {issuer}/.well-known/openid-configuration does not exist (HTTP 404): check issuer (it must be the issuer URL itself, without /.well-known/…), or set authorize_url and token_url instead", problem);
        Assert.Equal(problem, metadata.Problem);
        Assert.Null(metadata.Document);
        found = true;
        Assert.Null(await discovery.EnsureAsync(metadata, CancellationToken.None).Guarded());
        Assert.Equal(2, handler.Requests);
        Assert.NotNull(metadata.Document);
    }

    [Fact]
    public async Task EnsureAsync_InvalidatedAfterAnEndpointFailed_ReadsAgainAndKeepsTheOldMeanwhile()
    {
        var issuer = NewIssuer();
        var handler = new CountingHandler(_ => (HttpStatusCode.OK, Document(issuer)));
        var discovery = new IssuerDiscovery(new HttpClient(handler), TimeProvider.System);
        var metadata = IssuerMetadata.For(issuer);
        await discovery.EnsureAsync(metadata, CancellationToken.None).Guarded();

        metadata.Invalidate();

        Assert.NotNull(metadata.Document);
        Assert.True(metadata.NeedsRead);
        await discovery.EnsureAsync(metadata, CancellationToken.None).Guarded();
        Assert.Equal(2, handler.Requests);
        Assert.False(metadata.NeedsRead);
    }

    [Fact]
    public async Task ReadAsync_NoAnswer_TimesOutWithALine()
    {
        var time = new FakeTimeProvider();
        var handler = new CountingHandler(_ => (HttpStatusCode.OK, ""), hang: true);
        var discovery = new IssuerDiscovery(new HttpClient(handler), time);
        var issuer = NewIssuer();

        var read = discovery.ReadAsync(issuer, CancellationToken.None);
        await handler.Started.Task.Guarded();
        time.Advance(IssuerDiscovery.Timeout);

        Assert.Equal((null, $"the discovery document {issuer}/.well-known/openid-configuration did not come within 10 seconds"), await read.Guarded());
    }

    [Fact]
    public async Task CheckAsync_DocumentWithoutDeviceEndpointForADeviceCodeAccount_ErrorLineOnIssuer()
    {
        var issuer = NewIssuer();
        using var temp = new TempDirectory();
        var read = ConfigReader.ReadFile(temp.WriteFile("a.config",
            $"[server s]\nimap_host = i\n[account a]\nprovider = generic\nclient_id = id\nscope = mail\nflow = device_code\nissuer = {issuer}\n[account b]\nprovider = generic\nclient_id = id\nscope = mail\nissuer = {issuer}\n"));
        var handler = new CountingHandler(_ => (HttpStatusCode.OK, Document(issuer, device: false)));

        var problems = await DiscoveryCheck.CheckAsync(read.Config!, new IssuerDiscovery(new HttpClient(handler), TimeProvider.System), CancellationToken.None).Guarded();

        var problem = Assert.Single(problems);
        Assert.Equal($"[account a] issuer = '{issuer}': the discovery document {issuer}/.well-known/openid-configuration has no device_authorization_endpoint, which this account's flow needs: set device_code_url", problem.ToString());
        Assert.Equal(1, handler.Requests);
    }

    [Fact]
    public async Task CheckAsync_IssuerMismatch_ErrorLineForEachAccount()
    {
        var issuer = NewIssuer();
        using var temp = new TempDirectory();
        var read = ConfigReader.ReadFile(temp.WriteFile("a.config", $"[server s]\nimap_host = i\n[account a]\nprovider = generic\nclient_id = id\nscope = mail\nissuer = {issuer}\n"));
        var handler = new CountingHandler(_ => (HttpStatusCode.OK, Document(new Uri("https://other.example"))));

        var problems = await DiscoveryCheck.CheckAsync(read.Config!, new IssuerDiscovery(new HttpClient(handler), TimeProvider.System), CancellationToken.None).Guarded();

        Assert.Contains("names the issuer 'https://other.example', not", Assert.Single(problems).Message, StringComparison.Ordinal);
    }

    private sealed class CountingHandler(Func<Uri, (HttpStatusCode Status, string Body)> answer, bool hang = false) : HttpMessageHandler
    {
        private int _requests;

        public int Requests => _requests;

        public Uri? LastUri { get; private set; }

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            LastUri = request.RequestUri;
            Started.TrySetResult();
            if (hang)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            var (status, body) = answer(request.RequestUri!);
            return new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        }
    }
}
