using EmailProxy.Configuration;

namespace EmailProxy.Tests.TestSupport;

/// <summary>Accounts built directly, as the configuration reader would build them.</summary>
internal static class TestAccounts
{
    public const string Scope = "https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access";
    public const string ClientId = "00000000-1111-2222-3333-444444444444";

    public static AccountOptions Create(string name = "sales@example.com") => new(name)
    {
        Username = name,
        ServerName = "outlook.office365.com",
        ClientId = ClientId,
        Tenant = "contoso.example",
        AuthorizeUrl = new Uri("https://login.example.test/contoso.example/oauth2/v2.0/authorize"),
        TokenUrl = new Uri("https://login.example.test/contoso.example/oauth2/v2.0/token"),
        Scope = Scope,
    };
}
