using EmailProxy.Configuration;
using AccountKeys = EmailProxy.Configuration.ConfigKeys.Account;

namespace EmailProxy.Providers;

/// <summary>
/// <c>emailproxy check</c>'s look at each issuer the configuration names: its discovery document is read (once per
/// issuer, with <see cref="IssuerDiscovery.Timeout"/>), and each account of it is told, as an error line of its
/// <c>issuer</c> key, when the document cannot be used or lacks an endpoint the account's flow needs and the file
/// does not give. Run by <c>check</c> only, after the (network-free) configuration reader.
/// </summary>
internal static class DiscoveryCheck
{
    public static async Task<IReadOnlyList<ConfigProblem>> CheckAsync(ProxyConfig config, IssuerDiscovery discovery, CancellationToken cancellationToken)
    {
        var problems = new List<ConfigProblem>();
        var documents = new Dictionary<IssuerMetadata, (DiscoveryDocument? Document, string? Problem)>();
        foreach (var account in config.Accounts.Values)
        {
            if (account.Discovery is not { } issuer)
            {
                continue;
            }
            if (!documents.TryGetValue(issuer, out var read))
            {
                read = await discovery.ReadAsync(issuer.Issuer, cancellationToken);
                documents[issuer] = read;
            }
            var section = $"{ConfigKeys.AccountSection} {account.Name}";
            if (read.Document is not { } document)
            {
                problems.Add(new ConfigProblem(section, AccountKeys.Issuer, issuer.Issuer.OriginalString, read.Problem!));
                continue;
            }
            foreach (var (key, needed, given, name) in new[]
            {
                (AccountKeys.TokenUrl, true, document.TokenEndpoint, "token_endpoint"),
                (AccountKeys.AuthorizeUrl, account.Flow == OAuthFlow.AuthorizationCode, document.AuthorizationEndpoint, "authorization_endpoint"),
                (AccountKeys.DeviceCodeUrl, account.Flow == OAuthFlow.DeviceCode, document.DeviceAuthorizationEndpoint, "device_authorization_endpoint"),
            })
            {
                if (needed && given is null && !Written(account, key))
                {
                    problems.Add(new ConfigProblem(section, AccountKeys.Issuer, issuer.Issuer.OriginalString,
                        $"the discovery document {issuer.DocumentUrl.AbsoluteUri} has no {name}, which this account's flow needs: set {key}"));
                }
            }
        }
        return problems;
    }

    /// <summary>Whether the file gives the endpoint itself (then the document's is not used).</summary>
    private static bool Written(AccountOptions account, string key)
    {
        // An account's getters fall back on the shared document: what the file wrote is what remains without one.
        var withoutDocument = account with { Discovery = null };
        return key switch
        {
            AccountKeys.TokenUrl => withoutDocument.TokenUrl is not null,
            AccountKeys.AuthorizeUrl => withoutDocument.AuthorizeUrl is not null,
            _ => withoutDocument.DeviceCodeUrl is not null,
        };
    }
}
