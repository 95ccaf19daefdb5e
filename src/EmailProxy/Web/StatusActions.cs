using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.OAuth2;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Web;

/// <summary>
/// The status page's actions, each a POST under <c>/accounts/{name}/…</c> behind <see cref="AntiforgeryCheck"/>
/// (a request without the page's token, or a form too large or unreadable, changes nothing): sign in
/// (a browser sign-in started or joined, then 303 to the provider), show a device code (asked for from
/// the provider, then 303 back to the account on the page, which shows it), paste the address the
/// browser ended on (<c>local_server_auth = false</c>), show a template account's generated password that its
/// device-code sign-in made with nobody to show it to (once, <see cref="Accounts.UnshownPasswords"/>) and forget the tokens. The account's name is
/// read from the request target as sent (<see cref="WebEndpoints.AccountNameOf"/>); a name no account
/// has gets a 404 page and starts nothing.
/// </summary>
internal static partial class StatusActions
{
    public static void Map(WebApplication app, LiveConfig config)
    {
        var actions = app.MapGroup("/accounts/{name}");
        actions.AddEndpointFilter<AntiforgeryCheck>();

        actions.MapPost("/signin", async (HttpContext context, SignInManager signIns, CancellationToken cancellationToken) =>
        {
            if (Find(context, config) is not { } account)
            {
                return UnknownAccount(context);
            }
            // An issuer account's authorize endpoint may still be unread: StartOrJoinAsync reads its discovery document first.
            if (account.Flow == OAuthFlow.ClientCredentials || (account.AuthorizeUrl is null && account.Discovery is null))
            {
                return NoBrowserSignIn(account);
            }
            var pending = await signIns.StartOrJoinAsync(account, SignInMethod.Browser, cancellationToken);
            return pending.AuthorizeUrl is { } authorize
                ? HtmlPage.SeeOther(context, authorize.AbsoluteUri)
                : HtmlPage.Message(StatusCodes.Status503ServiceUnavailable, "Sign-in cannot start", (await pending.Completion).Message);
        });

        actions.MapPost("/device", async (HttpContext context, SignInManager signIns, StatusReader status, CancellationToken cancellationToken) =>
        {
            if (Find(context, config) is not { } account)
            {
                return UnknownAccount(context);
            }
            if (account.Flow != OAuthFlow.DeviceCode)
            {
                return HtmlPage.Message(StatusCodes.Status404NotFound, "No device code",
                    $"Account {account.Name} does not sign in with a device code (its flow is {StatusReader.FlowName(account.Flow)}).");
            }
            // A code the provider refuses ends at once: its reason is the account's last error on the page.
            await signIns.StartOrJoinAsync(account, SignInMethod.DeviceCode, cancellationToken);
            return HtmlPage.SeeOther(context, $"/#{status.IdOf(account)}");
        });

        actions.MapPost("/paste", async (HttpContext context, SignInManager signIns, CancellationToken cancellationToken) =>
        {
            if (Find(context, config) is not { } account)
            {
                return UnknownAccount(context);
            }
            var address = context.Request.HasFormContentType ? (context.Request.Form["address"].ToString()).Trim() : "";
            if (address.Length == 0)
            {
                return HtmlPage.Message(StatusCodes.Status400BadRequest, "Nothing pasted",
                    $"Paste the whole address the browser ended on after signing in as {account.Username}, then press the button again.");
            }
            var result = await signIns.CompletePastedAsync(account, address, cancellationToken);
            if (result.Password?.Take() is { } password)
            {
                // A template account's first sign-in: its generated password, shown here as on the redirect page.
                return HtmlPage.SignedInWithPassword(result.Message, account.Name, password);
            }
            return HtmlPage.Message(result.Succeeded ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest,
                result.Succeeded ? "Signed in" : "Sign-in failed", result.Message);
        });

        actions.MapPost("/password", async (HttpContext context, SignInManager signIns, TokenService tokens, ILoggerFactory logs, CancellationToken cancellationToken) =>
        {
            if (Find(context, config) is not { } account)
            {
                return UnknownAccount(context);
            }
            // Only while its hash is the account's: after the tokens were forgotten it would open nothing.
            var taken = account.Template is not null && (await tokens.SnapshotAsync(account, cancellationToken)).PasswordHash is not null
                ? await signIns.Unshown.TakeAsync(account.Name, cancellationToken)
                : default;
            if (taken.Unavailable)
            {
                return HtmlPage.Message(StatusCodes.Status503ServiceUnavailable, "Password cannot be fetched now",
                    $"The generated password of account {account.Name} cannot be fetched now: the proxy's shared store (Redis at {signIns.Unshown.SharedDescription}) cannot be reached. Nothing is lost: try again in a moment.");
            }
            if (taken.Password is { } password)
            {
                var log = logs.CreateLogger(typeof(StatusActions).FullName!);
                LogPasswordShown(log, account.Name);
                return HtmlPage.SignedInWithPassword(
                    $"Account {account.Name} is signed in. Its sign-in made this password, shown here this once (the proxy keeps only its hash): enter it as the account's password in the mail client.",
                    account.Name, password);
            }
            return HtmlPage.Message(StatusCodes.Status404NotFound, "No password to show",
                $"No generated password of account {account.Name} waits to be shown: each is shown once only (at the end of its sign-in, by emailproxy auth, or here{(signIns.Unshown.SharedDescription is null ? "" : ", on any replica")}), and {(signIns.Unshown.SharedDescription is null ? "a restart of the proxy forgets one nobody was shown" : $"one nobody was shown is kept {UnshownPasswords.SharedLife.TotalHours:0} hours")}. If it is lost, forget the account's tokens (or run emailproxy tokens clear) and sign in again: that makes a new one.");
        });

        actions.MapPost("/forget", async (HttpContext context, TokenService tokens, StatusReader status, CancellationToken cancellationToken) =>
        {
            if (Find(context, config) is not { } account)
            {
                return UnknownAccount(context);
            }
            await tokens.ForgetAsync(account, cancellationToken);
            return HtmlPage.SeeOther(context, $"/#{status.IdOf(account)}");
        });
    }

    /// <summary>
    /// The configured account the request's target names, or null. A shared mailbox (token_from) has no sign-in and no tokens
    /// of its own: its actions are those of the account whose sign-in it uses.
    /// </summary>
    public static AccountOptions? Find(HttpContext context, LiveConfig config) =>
        WebEndpoints.AccountNameOf(context) is not { } name ? null
        : config.Current.FindAccount(name) is { TokenFrom: { } from } shared ? config.Current.FindAccount(from) ?? shared
        : config.Current.FindAccount(name);

    public static IResult UnknownAccount(HttpContext context) =>
        HtmlPage.Message(StatusCodes.Status404NotFound, "Unknown account",
            $"There is no [account {ClientText.Sanitize(WebEndpoints.AccountNameOf(context))}] section in the proxy's configuration.");

    public static IResult NoBrowserSignIn(AccountOptions account) =>
        HtmlPage.Message(StatusCodes.Status404NotFound, "No browser sign-in", account.Flow == OAuthFlow.ClientCredentials
            ? $"Account {account.Name} is app-only (client credentials): no person signs it in, the proxy fetches its token itself."
            : $"Account {account.Name} has no authorize_url: it does not sign in in a browser. Run emailproxy auth {account.Name} instead.");

    private static IResult WithAccount(HttpContext context, LiveConfig config, Func<AccountOptions, IResult> action) =>
        Find(context, config) is { } account ? action(account) : UnknownAccount(context);

    [LoggerMessage(EventId = 6020, EventName = "GeneratedPasswordShown", Level = LogLevel.Information,
        Message = "The generated password of account {Account} was shown on the status page (once; it is not shown again)")]
    private static partial void LogPasswordShown(ILogger logger, string account);
}
