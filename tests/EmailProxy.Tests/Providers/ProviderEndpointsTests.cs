using EmailProxy.Configuration;
using EmailProxy.Providers;

namespace EmailProxy.Tests.Providers;

public sealed class ProviderEndpointsTests
{
    [Fact]
    public void For_MicrosoftWithoutAuthority_GlobalEndpointsOfTheTenant()
    {
        var endpoints = ProviderEndpoints.For(OAuthProvider.Microsoft, null, "contoso.example");

        Assert.Equal(new Uri("https://login.microsoftonline.com/contoso.example/oauth2/v2.0/authorize"), endpoints.AuthorizeUrl);
        Assert.Equal(new Uri("https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"), endpoints.TokenUrl);
        Assert.Equal(new Uri("https://login.microsoftonline.com/contoso.example/oauth2/v2.0/devicecode"), endpoints.DeviceCodeUrl);
        Assert.Contains("https://outlook.office.com/IMAP.AccessAsUser.All", endpoints.Scope, StringComparison.Ordinal);
    }

    [Fact]
    public void For_MicrosoftWithAuthority_EndpointsUnderIt()
    {
        var endpoints = ProviderEndpoints.For(OAuthProvider.Microsoft, new Uri("http://127.0.0.1:5001/"), "common");

        Assert.Equal(new Uri("http://127.0.0.1:5001/common/oauth2/v2.0/token"), endpoints.TokenUrl);
    }

    [Fact]
    public void For_Generic_HasNoEndpointAndNoScope()
    {
        Assert.Equal(new ProviderEndpoints(null, null, null, null), ProviderEndpoints.For(OAuthProvider.Generic, null, "common"));
    }
}
