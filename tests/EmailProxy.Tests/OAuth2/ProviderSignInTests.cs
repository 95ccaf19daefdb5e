using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.OAuth2;

/// <summary>What a provider adds to the browser sign-in's authorize URL.</summary>
public sealed class ProviderSignInTests : IDisposable
{
    private readonly OAuth2Fixture _fx = new();
    private readonly SignInManager _signIns;

    public ProviderSignInTests()
    {
        _signIns = new SignInManager(_fx.Config, _fx.Client, _fx.NewService(), _fx.Time, NullLogger<SignInManager>.Instance);
    }

    public void Dispose()
    {
        _signIns.Dispose();
        _fx.Dispose();
    }

    [Fact]
    public void StartOrJoin_GoogleAccount_AsksForOfflineAccessAndConsentSoARefreshTokenComes()
    {
        var google = _fx.Account with { Provider = OAuthProvider.Google, Scope = "https://mail.google.com/" };

        var query = QueryHelpers.ParseQuery(_signIns.StartOrJoin(google).AuthorizeUrl!.Query);

        Assert.Equal("offline", query["access_type"].ToString());
        Assert.Equal("consent", query["prompt"].ToString());
        Assert.Equal(google.Username, query["login_hint"].ToString());
    }

    [Fact]
    public void StartOrJoin_MicrosoftAccount_NoGoogleParameters()
    {
        var query = QueryHelpers.ParseQuery(_signIns.StartOrJoin(_fx.Account).AuthorizeUrl!.Query);

        Assert.False(query.ContainsKey("access_type"));
        Assert.False(query.ContainsKey("prompt"));
    }
}
