using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Diagnostics;
using EmailProxy.LocalTls;
using EmailProxy.OAuth2;
using Microsoft.Extensions.DependencyInjection;

namespace EmailProxy.Web;

/// <summary>
/// Gathers the status page's data (<see cref="StatusModel"/>) from the services that hold it: the
/// configuration, each account's token snapshot (<see cref="TokenService.SnapshotAsync"/>, times and
/// reasons only), the sign-in under way and the last failed one (<see cref="SignInManager"/>), the
/// mail logins (<see cref="AccountActivity"/>) and open sessions (<see cref="ProxyMetrics"/>), and the
/// local CA (<see cref="LocalCertificateStore"/>). Reading changes nothing. Made when the listener's
/// endpoints are mapped, which is when the proxy starts: the uptime counts from then.
/// </summary>
internal sealed class StatusReader(LiveConfig live, TokenService tokens, SignInManager signIns, AccountActivity activity, TimeProvider time, IServiceProvider services)
{
    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    /// <summary>The configured accounts in the page's order (by name), each with its place: the order gives the HTML ids.</summary>
    public IEnumerable<(AccountOptions Account, string Id)> Accounts() =>
        live.Current.AllAccounts.OrderBy(a => a.Name, StringComparer.OrdinalIgnoreCase).ThenBy(a => a.Name, StringComparer.Ordinal)
            .Select((account, index) => (account, $"account-{index + 1}"));

    /// <summary>The HTML id of the account's section (<c>account-3</c>), or null when it is not configured.</summary>
    public string? IdOf(AccountOptions account) => Accounts().FirstOrDefault(a => a.Account.Name.Equals(account.Name, StringComparison.OrdinalIgnoreCase)).Id;

    /// <summary>The local CA's certificate when local TLS made one and it is on disk; else null.</summary>
    public string? CaPath() => services.GetService<LocalCertificateStore>()?.CaPath is { } path && File.Exists(path) ? path : null;

    public async Task<StatusModel> ReadAsync(CancellationToken cancellationToken)
    {
        var accounts = new List<AccountStatus>();
        foreach (var (account, id) in Accounts())
        {
            accounts.Add(await ReadAsync(account, id, cancellationToken));
        }
        var open = services.GetService<ProxyMetrics>()?.OpenSessions() ?? new Dictionary<string, long>();
        var sessions = open.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => new ProtocolSessions(p.Key, p.Value)).ToList();
        return new StatusModel(SessionEnvironment.Version, time.GetUtcNow(), _startedAt, Path.GetFullPath(live.Current.ConfigPath), CaPath(), live.Current.General.LocalServerAuth, sessions, accounts);
    }

    /// <summary>One configured account as the page shows it (its sign-in page needs no other).</summary>
    public Task<AccountStatus> ReadAsync(AccountOptions account, CancellationToken cancellationToken) =>
        ReadAsync(account, IdOf(account) ?? throw new ArgumentException($"{account.Name} is not a configured account", nameof(account)), cancellationToken);

    private async Task<AccountStatus> ReadAsync(AccountOptions account, string id, CancellationToken cancellationToken)
    {
        if (account.TokenFrom is { } tokenFrom && live.Current.FindAccount(tokenFrom) is { } delegateAccount)
        {
            // No sign-in of its own: the delegate's state, no actions (they are the delegate's).
            var shared = await ReadAsync(delegateAccount, id, cancellationToken);
            var sharedEntry = activity.Of(account.Name);
            return shared with
            {
                Name = account.Name,
                Mailbox = account.Username,
                State = $"Uses the sign-in of {delegateAccount.Name} (token_from): {shared.State}",
                UserCode = null, VerificationUri = null, SignInExpiresAt = null,
                LastLogins = [.. sharedEntry.LastLogins.Select(p => new ProtocolLogin(p.Key, p.Value))],
                LastError = ErrorText(sharedEntry),
                LastErrorAt = sharedEntry.LastError is null ? null : sharedEntry.LastErrorAt,
                ErrorCode = null,
                Fix = sharedEntry.LastError is null ? null : sharedEntry.LastErrorFix ?? StatusFix.ForLogin(account, sharedEntry.LastFailure),
                CanSignIn = false, CanShowDeviceCode = false, CanPaste = false, CanForget = false, PasswordWaiting = false,
                UsesSignInOf = delegateAccount.Name,
            };
        }
        var snapshot = await tokens.SnapshotAsync(account, cancellationToken);
        var signedIn = snapshot.SignedIn;
        // A browser sign-in under way changes nothing shown: a mail client's login starts one with nobody at a
        // browser, so the account still needs a sign-in. A device code is shown: someone must enter it.
        // With shared sign-ins (token_store = redis) also one another replica started: its device code is shown here too.
        var pending = await signIns.CurrentAsync(account, cancellationToken);
        var device = pending?.Method == SignInMethod.DeviceCode && pending.UserCode is not null ? pending : null;
        var appOnly = account.Flow == OAuthFlow.ClientCredentials;
        // Only while its hash is the account's: a password of tokens forgotten since opens nothing.
        var passwordWaiting = account.Template is not null && snapshot.PasswordHash is not null && await signIns.Unshown.IsWaitingAsync(account.Name, cancellationToken);
        var expiresAt = snapshot.AccessToken is null ? (DateTimeOffset?)null : snapshot.ExpiresAt;
        var state = appOnly
            ? expiresAt is { } appExpiry
                ? $"App-only (client credentials): access token expires {Time(appExpiry)}; the proxy fetches a new one itself"
                : "App-only (client credentials): a token is fetched at the first login"
            : device is not null ? "Signing in with a device code: waiting until the code below is entered"
            : signedIn ? $"Signed in{(snapshot.Identity is { } who ? $" as {who}" : "")}{(expiresAt is { } e ? $"; access token valid until {Time(e)}" : "")}"
                + (passwordWaiting ? "; its generated password has not been shown yet: \"Show the password\" shows it, once" : "")
            : snapshot.SignInReason is { } reason ? $"Needs a sign-in: {reason}"
            : "Needs a sign-in: it has no token yet";

        var entry = activity.Of(account.Name);
        string? error = null;
        DateTimeOffset? errorAt = null;
        string? fix = null;
        if (entry.LastError is not null)
        {
            error = ErrorText(entry);
            errorAt = entry.LastErrorAt;
            fix = entry.LastErrorFix ?? StatusFix.ForLogin(account, entry.LastFailure);
        }
        else if (!appOnly && signIns.LastFailure(account) is { } failed)
        {
            error = failed.Message;
            fix = StatusFix.ForSignIn(account);
        }
        var browser = !appOnly && (account.AuthorizeUrl is not null || account.Discovery is not null);
        return new AccountStatus(
            id, account.Name, account.ProviderDisplayName, FlowName(account.Flow), account.Tenant, account.Username,
            state, !appOnly && signedIn, snapshot.Identity, expiresAt, snapshot.RefreshToken is null ? null : snapshot.RotatedAt,
            device?.UserCode, device?.VerificationUri?.AbsoluteUri, device?.ExpiresAt,
            [.. entry.LastLogins.Select(p => new ProtocolLogin(p.Key, p.Value))],
            error, errorAt, error is null ? null : AadstsOrNull(error), fix,
            CanSignIn: browser,
            CanShowDeviceCode: account.Flow == OAuthFlow.DeviceCode,
            CanPaste: browser && !live.Current.General.LocalServerAuth,
            CanForget: snapshot.AccessToken is not null || snapshot.RefreshToken is not null,
            AppOnly: appOnly,
            Template: account.Template,
            PasswordWaiting: passwordWaiting)
        {
            SendsMailThrough = Graph.GraphActivity.SendsThrough(account, GraphActivityOf(account)?.SwitchedAt),
            LastGraphSend = GraphActivityOf(account) is { LastSendAt: { } sentAt } graph
                ? $"{Time(sentAt)}: {graph.LastResult}{(graph.ThrottledUntil is { } until && until > time.GetUtcNow() ? $"; throttled by Graph until {Time(until)}" : "")}"
                : null,
        };
    }

    private Graph.GraphAccountActivity? GraphActivityOf(AccountOptions account)
    {
        var graph = services.GetService<Graph.GraphActivity>();
        // Read through UsesGraph so that an auto account's switch mark from an earlier run counts too.
        _ = graph?.UsesGraph(account);
        return graph?.Of(account.Name);
    }

    /// <summary>The entry's last error as the page shows it: a failed login's, or one after a login (its fix is the entry's own).</summary>
    private static string? ErrorText(AccountActivityEntry entry) => entry.LastError switch
    {
        null => null,
        { } error when entry.LastErrorFix is not null => $"{entry.LastErrorProtocol}: {error}",
        { } error => $"{entry.LastErrorProtocol} login: {error}",
    };

    /// <summary>A time as the page prints it (UTC, to the minute).</summary>
    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", System.Globalization.CultureInfo.InvariantCulture);

    public static string FlowName(OAuthFlow flow) => flow switch
    {
        OAuthFlow.DeviceCode => "device code",
        OAuthFlow.ClientCredentials => "client credentials (app-only)",
        _ => "authorization code (browser)",
    };

    private static string? AadstsOrNull(string text) => ProxyMetrics.AadstsCodeOf(text) is var code && code != ProxyMetrics.NoAadsts ? code : null;
}
