using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// The client-credentials grant (app-only): the client proves itself with <see cref="ClientSecret"/> or with a
/// client assertion (RFC 7523) signed by the key of the certificate given to <see cref="RegisterClientCertificate"/>
/// (signature, aud = this token endpoint, iss = sub = the client id, exp, and the header's x5t#S256 are checked, as
/// Entra does); the scope must be a resource's <c>.default</c>. The access token it issues is the app's, valid for
/// the mailboxes a test grants with <see cref="GrantAppMailbox"/> (Exchange's Add-MailboxPermission); for any other
/// mailbox the fake Exchange answers "User is authenticated but not connected." (<see cref="IsUnconnectedAppToken"/>).
/// </summary>
internal sealed partial class FakeIdentityServer
{
    /// <summary>The scope an app-only token is asked for with (Exchange Online's .default).</summary>
    public const string AppOnlyScope = "https://outlook.office365.com/.default";

    private readonly Dictionary<string, DateTimeOffset> _appTokens = new(StringComparer.Ordinal);
    private readonly HashSet<string> _appMailboxes = new(StringComparer.OrdinalIgnoreCase);
    private X509Certificate2? _clientCertificate;

    /// <summary>Number of token requests with grant_type=client_credentials.</summary>
    public int ClientCredentialsRequests => TokenRequestCount("client_credentials");

    /// <summary>The certificate (public part) uploaded to the app registration: assertions must be signed by its key.</summary>
    public void RegisterClientCertificate(X509Certificate2 certificate)
    {
        lock (_gate)
        {
            _clientCertificate = certificate;
        }
    }

    /// <summary>Lets the app's tokens open this mailbox (the service principal has FullAccess to it).</summary>
    public void GrantAppMailbox(string mailbox)
    {
        lock (_gate)
        {
            _appMailboxes.Add(mailbox);
        }
    }

    /// <summary>True for an app token issued here that has not expired but whose app may not open <paramref name="mailbox"/>.</summary>
    public bool IsUnconnectedAppToken(string accessToken, string mailbox)
    {
        lock (_gate)
        {
            return _appTokens.TryGetValue(accessToken, out var expiresAt) && Clock() < expiresAt && !_appMailboxes.Contains(mailbox);
        }
    }

    /// <summary>True for an app token issued here that has not expired, for a mailbox the app was granted.</summary>
    private bool IsGrantedAppToken(string accessToken, string mailbox)
    {
        lock (_gate)
        {
            return _appTokens.TryGetValue(accessToken, out var expiresAt) && Clock() < expiresAt && _appMailboxes.Contains(mailbox);
        }
    }

    /// <summary>grant_type=client_credentials, client authentication included (the caller has checked tenant and client id).</summary>
    private (int Status, string Json) ClientCredentials(string tenant, Dictionary<string, string> form)
    {
        var assertion = form.GetValueOrDefault("client_assertion");
        var secret = form.GetValueOrDefault("client_secret");
        if (assertion is not null)
        {
            if (VerifyAssertion(tenant, assertion, form.GetValueOrDefault("client_assertion_type")) is { } refusal)
            {
                return Error(401, "invalid_client", refusal);
            }
        }
        else if (secret is null || ClientSecret is null)
        {
            return Error(401, "invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
        }
        else if (!string.Equals(secret, ClientSecret, StringComparison.Ordinal))
        {
            return Error(401, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app 'test-client-id'.");
        }

        var scope = form.GetValueOrDefault("scope") ?? string.Empty;
        if (!scope.EndsWith("/.default", StringComparison.Ordinal) || scope.Contains(' ', StringComparison.Ordinal))
        {
            return Error(400, "invalid_scope", $"AADSTS1002012: The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).");
        }

        lock (_gate)
        {
            var accessToken = NewOpaque("fake-app-at-");
            _appTokens[accessToken] = Clock() + AccessTokenLifetime;
            return Success(new FakeTokenSet(accessToken, null, (int)AccessTokenLifetime.TotalSeconds, scope));
        }
    }

    /// <summary>The AADSTS refusal of a client assertion, or null when it is good.</summary>
    private string? VerifyAssertion(string tenant, string assertion, string? assertionType)
    {
        X509Certificate2? certificate;
        lock (_gate)
        {
            certificate = _clientCertificate;
        }
        if (assertionType != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return $"AADSTS50027: JWT token is invalid or malformed (client_assertion_type '{assertionType}').";
        }
        if (certificate is null)
        {
            return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.";
        }

        var handler = new JsonWebTokenHandler();
        if (!handler.CanReadToken(assertion))
        {
            return "AADSTS50027: JWT token is invalid or malformed.";
        }
        var jwt = handler.ReadJsonWebToken(assertion);
        var thumbprint = Base64UrlEncoder.Encode(certificate.GetCertHash(HashAlgorithmName.SHA256));
        if (!jwt.TryGetHeaderValue<string>("x5t#S256", out var x5tS256) || x5tS256 != thumbprint)
        {
            return "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.";
        }
        if (jwt.Subject != ClientId)
        {
            return "AADSTS700023: Client assertion audience claim does not match Realm issuer (sub is not the client id).";
        }

        var result = handler.ValidateTokenAsync(assertion, new TokenValidationParameters
        {
            ValidIssuer = ClientId,
            ValidAudience = $"{Authority}/{tenant}/oauth2/v2.0/token",
            IssuerSigningKey = new X509SecurityKey(certificate),
            RequireExpirationTime = true,
            ValidateLifetime = true,
        }).GetAwaiter().GetResult();
        return result.IsValid
            ? null
            : $"AADSTS700027: Client assertion failed signature validation or its claims are wrong ({result.Exception?.GetType().Name}).";
    }
}
