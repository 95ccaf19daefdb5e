using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// Who signs in, as the Microsoft identity platform says it: an id_token (an unsigned JWT, <c>alg: none</c>:
/// the proxy takes it from the token endpoint over TLS and checks no signature) whenever the granted request
/// asked for <c>openid</c>, carrying <c>preferred_username</c> (the user), <c>email</c> when <c>email</c> was
/// asked and <c>name</c> when <c>profile</c> was; optionally JWT access tokens carrying <c>upn</c> and
/// <c>unique_name</c> as Exchange's do. A test makes the next browser sign-in be someone other than the
/// <c>login_hint</c> with <see cref="SignInAsNext"/> (a person signed in to the browser as somebody else).
/// </summary>
internal sealed partial class FakeIdentityServer
{
    private readonly Queue<string> _signInAs = new();
    private readonly List<IReadOnlyDictionary<string, string>> _issuedIdTokens = [];
    private readonly HashSet<(string Delegate, string Mailbox)> _delegates = [];

    /// <summary>When true, access tokens are JWTs (still known here by their text, so <see cref="IsValid"/> works) with upn/unique_name; default opaque.</summary>
    public bool JwtAccessTokens { get; set; }

    /// <summary>When false, no id_token is issued even when openid was asked (a provider that ignores it); default true.</summary>
    public bool IssueIdTokens { get; set; } = true;

    /// <summary>The next authorize request signs in as <paramref name="user"/> instead of its login_hint (once per call; calls queue up).</summary>
    public void SignInAsNext(string user)
    {
        lock (_gate)
        {
            _signInAs.Enqueue(user);
        }
    }

    /// <summary>
    /// Lets <paramref name="delegateUser"/>'s tokens open <paramref name="mailbox"/> (Exchange's FullAccess on a
    /// shared mailbox: the XOAUTH2 user is the mailbox, the token the delegate's).
    /// </summary>
    public void AllowDelegate(string delegateUser, string mailbox)
    {
        lock (_gate)
        {
            _delegates.Add((delegateUser.ToUpperInvariant(), mailbox.ToUpperInvariant()));
        }
    }

    /// <summary>The id_tokens issued so far, decoded: the claims of each, in order.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> IssuedIdTokens
    {
        get
        {
            lock (_gate)
            {
                return [.. _issuedIdTokens];
            }
        }
    }

    /// <summary>Whether a token of <paramref name="tokenUser"/> opens <paramref name="mailbox"/> as a delegate. The caller holds <c>_gate</c>.</summary>
    private bool MayActFor(string tokenUser, string mailbox) => _delegates.Contains((tokenUser.ToUpperInvariant(), mailbox.ToUpperInvariant()));

    /// <summary>Who the authorize request signs in: a queued <see cref="SignInAsNext"/>, else the login_hint. The caller holds <c>_gate</c>.</summary>
    private string SignedInUser(string loginHint) => _signInAs.TryDequeue(out var user) ? user : loginHint;

    /// <summary>An access token for <paramref name="user"/>: opaque, or a JWT as Exchange's when <see cref="JwtAccessTokens"/> is set.</summary>
    private string NewAccessToken(string user, string clientId, string grantedScope) => JwtAccessTokens
        ? Jwt(new Dictionary<string, object>
        {
            ["aud"] = "https://outlook.office.com",
            ["iss"] = $"https://sts.windows.net/{Tenant}/",
            ["tid"] = Tenant,
            ["appid"] = clientId,
            ["upn"] = user,
            ["unique_name"] = user,
            ["scp"] = string.Join(' ', grantedScope.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(s => s[(s.LastIndexOf('/') + 1)..])),
            ["exp"] = (Clock() + AccessTokenLifetime).ToUnixTimeSeconds(),
            ["jti"] = Convert.ToHexString(RandomNumberGenerator.GetBytes(8)),
        })
        : NewOpaque("fake-at-");

    /// <summary>The id_token for a grant whose request asked for <paramref name="requestedScopes"/>; null without openid. The caller holds <c>_gate</c>.</summary>
    private string? IdTokenFor(string user, string clientId, string[] requestedScopes)
    {
        if (!IssueIdTokens || !requestedScopes.Contains("openid", StringComparer.OrdinalIgnoreCase))
        {
            return null;
        }
        var now = Clock();
        var claims = new Dictionary<string, object>
        {
            ["aud"] = clientId,
            ["iss"] = $"{Authority}/{Tenant}/v2.0",
            ["tid"] = Tenant,
            ["sub"] = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(user.ToUpperInvariant())))[..22],
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = now.AddHours(1).ToUnixTimeSeconds(),
            ["preferred_username"] = user,
        };
        if (requestedScopes.Contains("email", StringComparer.OrdinalIgnoreCase))
        {
            claims["email"] = user;
        }
        if (requestedScopes.Contains("profile", StringComparer.OrdinalIgnoreCase))
        {
            claims["name"] = user.Split('@')[0];
        }
        _issuedIdTokens.Add(claims.ToDictionary(pair => pair.Key, pair => Convert.ToString(pair.Value, System.Globalization.CultureInfo.InvariantCulture)!, StringComparer.Ordinal));
        return Jwt(claims);
    }

    private static string Jwt(Dictionary<string, object> claims) =>
        $"{Base64Url("{\"alg\":\"none\",\"typ\":\"JWT\"}"u8.ToArray())}.{Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims))}.";
}
