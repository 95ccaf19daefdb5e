using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Upstream;

namespace EmailProxy.Accounts;

/// <summary>
/// The road every protocol's login walks: account lookup, password check, access token (or a
/// sign-in), upstream XOAUTH2; a refused token is dropped, refreshed and tried once more.
/// </summary>
internal sealed class LoginService(ProxyConfig config, PasswordVerifier passwords, TokenService tokens, SignInManager signIns)
{
    /// <summary>Connects and authenticates upstream with a given access token; one per protocol.</summary>
    public delegate Task<UpstreamLoginResult> UpstreamLogin(ServerOptions server, string username, string accessToken, CancellationToken cancellationToken);

    public async Task<LoginOutcome> LoginAsync(string protocol, string loginName, string password, Func<ServerOptions, string?> hostOf, UpstreamLogin upstreamLogin, CancellationToken cancellationToken)
    {
        var account = config.FindAccount(loginName);
        if (account is null)
        {
            return LoginOutcome.Fail(LoginFailure.UnknownAccount,
                $"There is no account '{loginName}' in the proxy's configuration: add an [account {loginName}] section to {Path.GetFileName(config.ConfigPath)} and restart the proxy");
        }
        if (account.PasswordHash is { } hash && !passwords.Verify(account.Name, hash, password))
        {
            return LoginOutcome.Fail(LoginFailure.WrongPassword,
                $"Wrong password for account {account.Name} (the proxy checks it against password_hash)", account);
        }
        if (account.Flow != OAuthFlow.AuthorizationCode)
        {
            return LoginOutcome.Fail(LoginFailure.TokenUnavailable,
                $"Account {account.Name} uses flow = {account.Flow}, which this version of the proxy does not support yet; use flow = authorization_code", account);
        }
        var server = config.Servers[account.ServerName];
        if (hostOf(server) is null)
        {
            return LoginOutcome.Fail(LoginFailure.Unavailable,
                $"Account {account.Name}: [server {server.Name}] has no {protocol.ToLowerInvariant()}_host, so {protocol} cannot be used with it", account);
        }

        var token = await GetTokenAsync(account, cancellationToken);
        if (token.Kind != TokenOutcomeKind.Token)
        {
            return token.Kind == TokenOutcomeKind.SignInRequired
                ? SignInNeeded(account, token.Message)
                : LoginOutcome.Fail(LoginFailure.TokenUnavailable, $"Account {account.Name}: {token.Message}", account);
        }

        var result = await upstreamLogin(server, account.Username, token.AccessToken!, cancellationToken);
        if (result.RejectedText is not null && result.TokenRefused)
        {
            // Expired early, revoked, or minted before a permission change: one fresh token, one more try.
            tokens.Invalidate(account, token.AccessToken!);
            var retry = await tokens.GetAccessTokenAsync(account, cancellationToken);
            if (retry.Kind == TokenOutcomeKind.Token && retry.AccessToken != token.AccessToken)
            {
                result = await upstreamLogin(server, account.Username, retry.AccessToken!, cancellationToken);
            }
            else if (retry.Kind == TokenOutcomeKind.SignInRequired)
            {
                return SignInNeeded(account, retry.Message);
            }
            else if (retry.Kind == TokenOutcomeKind.Failed)
            {
                // The token was refused and a fresh one cannot be had right now: worth trying again later.
                return LoginOutcome.Fail(LoginFailure.TokenUnavailable,
                    $"Account {account.Name}: {server.Name} refused the OAuth2 token (\"{result.RejectedText}\"), and {retry.Message}", account);
            }
        }
        if (result.Succeeded)
        {
            return LoginOutcome.Success(account, result);
        }
        if (result.UnavailableReason is { } reason)
        {
            return LoginOutcome.Fail(LoginFailure.Unavailable, $"Account {account.Name}: {reason}", account);
        }
        var hint = account.ScopeTargetsGraph
            ? $"The account's scope asks for graph.microsoft.com, whose tokens Exchange refuses for IMAP, POP and SMTP: set scope to https://outlook.office.com/IMAP.AccessAsUser.All https://outlook.office.com/SMTP.Send offline_access in [account {account.Name}] and sign in again."
            : result.Hint;
        return LoginOutcome.Fail(LoginFailure.Rejected,
            $"Account {account.Name}: {server.Name} refused the OAuth2 token for {account.Username}: \"{result.RejectedText}\"{(hint is null ? "" : " " + hint)}", account);
    }

    private async Task<TokenOutcome> GetTokenAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var token = await tokens.GetAccessTokenAsync(account, cancellationToken);
        if (token.Kind != TokenOutcomeKind.SignInRequired || config.General.WaitForAuthorization <= TimeSpan.Zero)
        {
            return token;
        }
        var pending = signIns.StartOrJoin(account);
        try
        {
            if (await pending.Completion.WaitAsync(config.General.WaitForAuthorization, cancellationToken))
            {
                return await tokens.GetAccessTokenAsync(account, cancellationToken);
            }
        }
        catch (TimeoutException)
        {
            // Fall through: the client is told what to open.
        }
        return token;
    }

    private LoginOutcome SignInNeeded(AccountOptions account, string reason)
    {
        signIns.StartOrJoin(account);
        var page = signIns.SignInPageFor(account);
        return LoginOutcome.Fail(LoginFailure.SignInRequired,
            $"Account {account.Name} needs an OAuth2 sign-in with {account.ProviderDisplayName} ({reason}): open {page.AbsoluteUri} in a browser, sign in as {account.Username}, then log in again",
            account);
    }
}
