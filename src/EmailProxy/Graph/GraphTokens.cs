using System.Collections.Concurrent;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.OAuth2;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Graph;

/// <summary>
/// Each Graph-sending account's Graph access token: redeemed from the account's refresh token (or by
/// client credentials) for <see cref="GraphScopes.For"/>, kept in memory while more than
/// <see cref="TokenService.RefreshMargin"/> of its life is left, and redeemed again once per
/// account however many sends wait on it (single flight). It is not written to the token file:
/// after a restart one request gets a new one. Never logged. A shared mailbox (<c>token_from</c>) sends
/// with a token redeemed from its delegate's sign-in, for <c>Mail.Send.Shared</c>: one entry per
/// (account whose sign-in is used, scope). When the account's own tokens are forgotten (<c>tokens clear</c>,
/// <c>/forget</c>, a reload that changed its OAuth settings) or replaced on another replica (a sign-in, <c>tokens clear</c>
/// or an invalid_grant there; not a mere refresh) its Graph tokens go too.
/// </summary>
internal sealed partial class GraphTokens
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly TokenService _tokens;
    private readonly TimeProvider _time;
    private readonly ILogger<GraphTokens> _log;
    private readonly LiveConfig? _live;

    public GraphTokens(TokenService tokens, TimeProvider time, ILogger<GraphTokens> log, LiveConfig? live = null)
    {
        _tokens = tokens;
        _time = time;
        _log = log;
        _live = live;
        // Same lifetime as the token service (both the host's singletons): never unsubscribed.
        tokens.TokensForgotten += Forget;
    }

    public async Task<GraphToken> GetAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        // The account whose refresh token is redeemed: a shared mailbox's delegate, else the account itself.
        var owner = account.TokenFrom is { } from && _live?.Current.FindAccount(from) is { } signedIn ? signedIn : account;
        var scope = GraphScopes.For(account, _tokens.SignedInIdentityOf(owner));
        var entry = _entries.GetOrAdd(owner.Name + "\n" + scope, static _ => new Entry());
        Task<GraphToken> redeem;
        lock (entry)
        {
            if (entry.Current is { AccessToken: not null } current && entry.Scope == scope && current.ExpiresAt - _time.GetUtcNow() > TokenService.RefreshMargin)
            {
                return current;
            }
            redeem = entry.Redeeming ??= Task.Run(() => RedeemAsync(owner, scope, entry), CancellationToken.None);
        }
        return await redeem.WaitAsync(cancellationToken);
    }

    /// <summary>Graph answered 401 to this token: the next <see cref="GetAsync"/> redeems a new one.</summary>
    public void Invalidate(AccountOptions account, string accessToken)
    {
        ArgumentNullException.ThrowIfNull(account);
        foreach (var entry in _entries.Values)
        {
            lock (entry)
            {
                if (entry.Current?.AccessToken == accessToken)
                {
                    entry.Current = null;
                }
            }
        }
    }

    /// <summary>
    /// The tokens of <paramref name="accountName"/> were forgotten: every Graph token redeemed from them (its own,
    /// and its shared mailboxes') is dropped. A redeem on its way finishes into an entry no one finds any more.
    /// </summary>
    private void Forget(string accountName)
    {
        foreach (var key in _entries.Keys.Where(k => k.StartsWith(accountName + "\n", StringComparison.OrdinalIgnoreCase)))
        {
            _entries.TryRemove(key, out _);
        }
    }

    private async Task<GraphToken> RedeemAsync(AccountOptions account, string scope, Entry entry)
    {
        GraphToken outcome;
        try
        {
            var result = await _tokens.RedeemForScopeAsync(account, scope, CancellationToken.None);
            outcome = result.IsError ? Refused(account, scope, result) : new GraphToken(result.AccessToken, result.ExpiresAt, null, false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            outcome = GraphToken.Failed($"the Graph token request failed ({e.GetType().Name})", temporary: true);
        }
        lock (entry)
        {
            entry.Redeeming = null;
            if (outcome.AccessToken is not null)
            {
                entry.Current = outcome;
                entry.Scope = scope;
            }
        }
        if (outcome.AccessToken is not null)
        {
            LogIssued(_log, account.Name, scope, outcome.ExpiresAt);
        }
        else
        {
            LogRefused(_log, account.Name, scope, outcome.Failure!);
        }
        return outcome;
    }

    private static GraphToken Refused(AccountOptions account, string scope, TokenEndpointResult result)
    {
        if (result.Error == TokenService.SignInNeededError)
        {
            return GraphToken.Failed($"account {account.Name} needs an OAuth2 sign-in ({result.ErrorDescription})", temporary: false);
        }
        if (result.Error == TokenService.StoreUnavailableError)
        {
            return GraphToken.Failed($"the tokens of account {account.Name} cannot be used now: {result.ErrorDescription}", temporary: true);
        }
        var error = ClientText.Sanitize(result.ErrorText, 600).TrimEnd('.', ' ');
        var fix = result.ErrorText.Contains("AADSTS65001", StringComparison.Ordinal) || result.ErrorText.Contains("consent", StringComparison.OrdinalIgnoreCase)
            || result.Error is "invalid_scope" or "unauthorized_client"
            ? " " + GraphFixes.Permission(account)
            : result.IsInvalidGrant ? $" Sign in to account {account.Name} again." : "";
        return GraphToken.Failed($"{account.ProviderDisplayName} refused the Graph token ({scope}): {error}.{fix}", result.Transient);
    }

    private sealed class Entry
    {
        public GraphToken? Current { get; set; }
        public string? Scope { get; set; }
        public Task<GraphToken>? Redeeming { get; set; }
    }

    [LoggerMessage(EventId = 2401, EventName = "GraphTokenIssued", Level = LogLevel.Information,
        Message = "Microsoft Graph access token of account {Account} issued for {Scope}; expires {ExpiresAt:O}")]
    private static partial void LogIssued(ILogger logger, string account, string scope, DateTimeOffset expiresAt);

    [LoggerMessage(EventId = 2402, EventName = "GraphTokenRefused", Level = LogLevel.Warning,
        Message = "No Microsoft Graph access token for account {Account} ({Scope}): {Reason}")]
    private static partial void LogRefused(ILogger logger, string account, string scope, string reason);
}
