using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace EmailProxy.Web;

/// <summary>
/// The status page's HTML (<c>GET /</c>) and the sign-in page the mail clients' texts link to
/// (<c>GET /accounts/{name}/signin</c>), from a <see cref="StatusModel"/>. Readable without script:
/// every state is in the HTML, every action is a <c>&lt;button&gt;</c> in a POST form that carries
/// the anti-forgery field; <c>/static/status.js</c> only keeps a device code's countdown and the state
/// up to date. Every text goes through <see cref="HtmlPage.Encode"/>; nothing inline (the CSP forbids it).
/// </summary>
/// <remarks>
/// The page contract the browser tests rely on: each account is a <c>section</c> labelled by its
/// <c>h2</c> (a region named after the account), its live data in <c>data-field</c> elements, and each
/// button's accessible name ends with the account's name (the rest of the text visually hidden), so that
/// a screen reader and a test tell them apart.
/// </remarks>
internal static class StatusPage
{
    public const string Title = "Proxy status";

    /// <summary>The page's one script, served by the listener itself (<see cref="StaticAssets"/>).</summary>
    public const string ScriptPath = "/static/status.js";

    /// <summary>
    /// The page header's actions, at the top of the status page: the admin login's "Log out" form while
    /// this browser is logged in (<see cref="AdminLogin.LogoutForm"/>), else nothing.
    /// </summary>
    public static string HeaderActions(HttpContext context) => AdminLogin.LogoutForm(context);

    public static IResult Render(StatusModel model, string formField, HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(model);
        var html = new StringBuilder();
        if (HeaderActions(context) is { Length: > 0 } header)
        {
            html.Append("<div class=\"header-actions\">").Append(header).Append("</div>");
        }
        html.Append("<p class=\"lead\">Version ").Append(Encode(model.Version))
            .Append(" · running for ").Append(Encode(Duration(model.Now - model.StartedAt)))
            .Append(" · configuration <code>").Append(Encode(model.ConfigPath)).Append("</code></p>");
        Sessions(html, model);
        if (model.Accounts.Count == 0)
        {
            html.Append("<p class=\"empty\">No account is configured yet. Add an <code>[account NAME]</code> section to <code>")
                .Append(Encode(model.ConfigPath)).Append("</code> (see emailproxy.config.example) and save it: the proxy reads it again by itself.</p>");
        }
        foreach (var account in model.Accounts)
        {
            Account(html, model, account, formField);
        }
        LocalCa(html, model);
        return HtmlPage.Content(StatusCodes.Status200OK, Title, html.ToString(), $"<script src=\"{ScriptPath}\" defer></script>");
    }

    /// <summary>
    /// The page of <c>GET /accounts/{name}/signin</c>: the account's name and its sign-in button(s); the
    /// GET itself starts nothing (a link that starts a sign-in could be followed by any page).
    /// </summary>
    public static IResult SignIn(AccountStatus account, string formField)
    {
        ArgumentNullException.ThrowIfNull(account);
        var html = new StringBuilder();
        html.Append("<section class=\"account\" aria-labelledby=\"").Append(account.Id).Append("\"><h2 id=\"").Append(account.Id).Append("\">")
            .Append(Encode(account.Name)).Append("</h2>");
        html.Append("<p data-field=\"state\">").Append(Encode(account.State)).Append("</p>");
        html.Append("<p>Sign in as <strong>").Append(Encode(account.Mailbox)).Append("</strong> with ").Append(Encode(account.Provider))
            .Append(". Nothing starts until you press the button.</p><div class=\"actions\">");
        PasswordButton(html, account, formField);
        SignInButtons(html, account, formField);
        html.Append("</div></section><p><a href=\"/\">Back to the status page</a></p>");
        return HtmlPage.Content(StatusCodes.Status200OK, "Sign in", html.ToString());
    }

    private static void Sessions(StringBuilder html, StatusModel model)
    {
        html.Append("<div class=\"panel\"><h2 id=\"sessions\">Open sessions</h2>");
        var open = model.OpenSessions.Where(s => s.Open > 0).ToList();
        if (open.Count == 0)
        {
            html.Append("<p>No mail client is connected right now.</p>");
        }
        else
        {
            html.Append("<ul class=\"sessions\">");
            foreach (var protocol in open)
            {
                html.Append("<li>").Append(Encode(protocol.Protocol)).Append(": ").Append(protocol.Open.ToString(CultureInfo.InvariantCulture)).Append("</li>");
            }
            html.Append("</ul>");
        }
        html.Append("</div>");
    }

    private static void Account(StringBuilder html, StatusModel model, AccountStatus account, string formField)
    {
        // The script polls while a device code waits to be entered.
        var pending = account.UserCode is not null;
        html.Append("<section class=\"account\" aria-labelledby=\"").Append(account.Id).Append("\" data-pending=\"").Append(pending ? "true" : "false").Append("\">")
            .Append("<h2 id=\"").Append(account.Id).Append("\">").Append(Encode(account.Name)).Append("</h2>");
        html.Append("<div class=\"live\" aria-live=\"polite\"><p class=\"state\" data-field=\"state\">").Append(Encode(account.State)).Append("</p>");
        if (account.CanShowDeviceCode)
        {
            DeviceCode(html, model, account);
        }
        html.Append("</div>");

        html.Append("<dl class=\"facts\">");
        Fact(html, "Provider", account.Provider);
        Fact(html, "Flow", account.Flow);
        Fact(html, "Tenant", account.Tenant);
        Fact(html, "Mailbox", account.Mailbox);
        if (account.UsesSignInOf is { } delegateName)
        {
            Fact(html, "Sign-in", $"uses the sign-in of {delegateName} (token_from)", "uses-sign-in-of");
        }
        if (account.Template is { } template)
        {
            Fact(html, "Made from", $"template [account {template}], at this login name's first login", "template");
        }
        if (account.SendsMailThrough is { } through)
        {
            Fact(html, "Sends mail through", through);
        }
        if (account.LastGraphSend is { } graphSend)
        {
            Fact(html, "Last Graph send", graphSend);
        }
        // These two change when a sign-in completes while the page is open: status.js rewrites them (data-field).
        Fact(html, "Signed in as", account.AppOnly ? "no person: the app itself (client credentials)" : account.Identity ?? (account.SignedIn ? "(not recorded)" : "nobody yet"), "identity");
        Fact(html, "Access token", account.AccessTokenExpiresAt is { } expires
            ? expires > model.Now ? $"valid until {StatusReader.Time(expires)} (for {Duration(expires - model.Now)})" : $"expired {StatusReader.Time(expires)}; renewed at the next login"
            : account.RefreshTokenRenewedAt is null ? "none yet" : "none now; a new one is fetched at the next login", "access-token");
        if (account.RefreshTokenRenewedAt is { } renewed)
        {
            Fact(html, "Refresh token", $"last renewed {StatusReader.Time(renewed)} ({Duration(model.Now - renewed)} ago)"
                + (account.Provider == "Microsoft" ? "; Microsoft drops one unused for 90 days" : ""));
        }
        Fact(html, "Last logins", account.LastLogins.Count == 0
            ? "no mail client has logged in since the proxy started"
            : string.Join("; ", account.LastLogins.Select(l => $"{l.Protocol} {StatusReader.Time(l.At)}")));
        html.Append("</dl>");

        if (account.LastError is { } error)
        {
            html.Append("<div class=\"error\"><h3>Last error").Append(account.LastErrorAt is { } at ? $" ({Encode(StatusReader.Time(at))})" : "").Append("</h3>")
                .Append("<p data-field=\"last-error\">").Append(Encode(error)).Append("</p>");
            if (account.ErrorCode is { } code)
            {
                html.Append("<p>Error code: <code data-field=\"error-code\">").Append(Encode(code)).Append("</code></p>");
            }
            html.Append("<p data-field=\"fix\"><strong>What to do:</strong> ").Append(Encode(account.Fix)).Append("</p></div>");
        }

        html.Append("<div class=\"actions\">");
        PasswordButton(html, account, formField);
        SignInButtons(html, account, formField);
        if (account.CanPaste)
        {
            var id = $"paste-{account.Id}";
            html.Append("<form method=\"post\" class=\"paste\" action=\"").Append(Encode(AccountStatus.ActionPath(account.Name, "paste"))).Append("\">").Append(formField)
                .Append("<label for=\"").Append(id).Append("\">Address from the browser's address bar").Append(Hidden($" for {account.Name}")).Append("</label>")
                .Append("<p class=\"hint\">This proxy does not take the provider's return itself (local_server_auth = false): after signing in, copy the whole address the browser ends on and paste it here.</p>")
                .Append("<textarea id=\"").Append(id).Append("\" name=\"address\" rows=\"3\" required></textarea>")
                .Append("<button type=\"submit\">Paste the address").Append(Hidden($" for {account.Name}")).Append("</button></form>");
        }
        if (account.CanForget)
        {
            html.Append("<details><summary>Forget tokens…</summary><p>The proxy deletes this account's tokens; mail clients cannot log in until someone signs in again.</p>")
                .Append("<form method=\"post\" action=\"").Append(Encode(AccountStatus.ActionPath(account.Name, "forget"))).Append("\">").Append(formField)
                .Append("<button type=\"submit\" class=\"danger\">Forget tokens").Append(Hidden($" of {account.Name}")).Append("</button></form></details>");
        }
        html.Append("</div></section>");
    }

    private static void DeviceCode(StringBuilder html, StatusModel model, AccountStatus account)
    {
        html.Append("<div class=\"device\"").Append(account.UserCode is null ? " hidden" : "").Append('>')
            .Append("<p>Open <a data-field=\"verification-uri\" href=\"").Append(Encode(account.VerificationUri ?? "")).Append("\" rel=\"noreferrer\">")
            .Append(Encode(account.VerificationUri)).Append("</a> and enter this code:</p>")
            .Append("<p class=\"code\" data-field=\"user-code\">").Append(Encode(account.UserCode)).Append("</p>")
            .Append("<p data-field=\"countdown\" data-expires-at=\"")
            .Append(account.SignInExpiresAt?.ToString("O", CultureInfo.InvariantCulture)).Append("\">")
            .Append(account.SignInExpiresAt is { } expires ? Encode($"The code expires in {Duration(expires - model.Now)}.") : "")
            .Append("</p><p class=\"hint\">This page follows the sign-in by itself; without script, reload it.</p></div>");
    }

    /// <summary>
    /// A template account's "Show the password" (<see cref="AccountStatus.PasswordWaiting"/>): there for every template account,
    /// hidden unless a generated password waits, so that the script can show it when a device code is entered while the page is open.
    /// </summary>
    private static void PasswordButton(StringBuilder html, AccountStatus account, string formField)
    {
        if (account.Template is null || account.UsesSignInOf is not null)
        {
            return;
        }
        html.Append("<form method=\"post\" class=\"password\" action=\"").Append(Encode(AccountStatus.ActionPath(account.Name, "password"))).Append('"')
            .Append(account.PasswordWaiting ? "" : " hidden").Append('>').Append(formField)
            .Append("<p class=\"hint\">The sign-in made this account's own password for the mail client. It is shown once, to whoever presses first, and never again.</p>")
            .Append("<button type=\"submit\">Show the password").Append(Hidden($" of {account.Name}")).Append("</button></form>");
    }

    private static void SignInButtons(StringBuilder html, AccountStatus account, string formField)
    {
        if (account.CanShowDeviceCode)
        {
            Button(html, AccountStatus.ActionPath(account.Name, "device"), formField, "Show device code", $" for {account.Name}");
        }
        if (account.CanSignIn)
        {
            Button(html, AccountStatus.ActionPath(account.Name, "signin"), formField,
                "Sign in", $" {account.Name}", account.CanShowDeviceCode ? "in this browser instead of a code" : null);
        }
        if (!account.CanSignIn && !account.CanShowDeviceCode && !account.AppOnly)
        {
            html.Append("<p>No browser sign-in (the account has no authorize_url): run <code>emailproxy auth ").Append(Encode(account.Name)).Append("</code>.</p>");
        }
    }

    private static void Button(StringBuilder html, string action, string formField, string visible, string hidden, string? note = null)
    {
        html.Append("<form method=\"post\" action=\"").Append(Encode(action)).Append("\">").Append(formField)
            .Append("<button type=\"submit\">").Append(Encode(visible)).Append(Hidden(hidden)).Append("</button>");
        if (note is not null)
        {
            html.Append(" <span class=\"hint\">").Append(Encode(note)).Append("</span>");
        }
        html.Append("</form>");
    }

    private static void LocalCa(StringBuilder html, StatusModel model)
    {
        if (model.CaPath is not { } path)
        {
            return;
        }
        html.Append("<div class=\"panel\"><h2 id=\"local-ca\">Local TLS certificate authority</h2>")
            .Append("<p>The proxy made its own CA for local TLS: <code>").Append(Encode(path)).Append("</code>. <a href=\"/ca.pem\" download>Download ca.pem</a>.</p>")
            .Append("<p>Mail clients must trust it. On Debian or Ubuntu: copy it to <code>/usr/local/share/ca-certificates/emailproxy.crt</code> and run <code>update-ca-certificates</code>. ")
            .Append("EspoCRM's PHP uses that system store (or the file named by <code>openssl.cafile</code> in php.ini): restart PHP-FPM or the web server afterwards.</p></div>");
    }

    private static void Fact(StringBuilder html, string term, string? value, string? field = null) =>
        html.Append("<dt>").Append(Encode(term)).Append(field is null ? "</dt><dd>" : $"</dt><dd data-field=\"{field}\">").Append(Encode(value)).Append("</dd>");

    /// <summary>Text a screen reader reads as part of the element's name and the screen does not show.</summary>
    private static string Hidden(string text) => $"<span class=\"visually-hidden\">{Encode(text)}</span>";

    /// <summary>A duration for a person: "3 days 4 h", "5 h 2 min", "12 min 5 s", "40 s".</summary>
    public static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            span = TimeSpan.Zero;
        }
        return span.TotalDays >= 1 ? $"{(int)span.TotalDays} day{((int)span.TotalDays == 1 ? "" : "s")} {span.Hours} h"
            : span.TotalHours >= 1 ? $"{span.Hours} h {span.Minutes} min"
            : span.TotalMinutes >= 1 ? $"{span.Minutes} min {span.Seconds} s"
            : $"{span.Seconds} s";
    }

    private static string Encode(string? text) => HtmlPage.Encode(text);
}
