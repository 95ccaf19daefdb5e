using System.Net;
using System.Text.RegularExpressions;
using EmailProxy.Tests.TestSupport;
using EmailProxy.Web;

namespace EmailProxy.Tests.Web;

/// <summary>
/// What a browser does with the status page's forms: read the anti-forgery field from a page (the
/// host's client keeps the cookie that goes with it) and post a form with it.
/// </summary>
internal static partial class PageForms
{
    /// <summary>The status page's HTML (decoded entities left as they are) after a GET that must answer 200.</summary>
    public static async Task<string> StatusPageAsync(WebEndpointsHost host)
    {
        ArgumentNullException.ThrowIfNull(host);
        using var response = await host.Http.GetAsync(new Uri("/", UriKind.Relative)).Guarded();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>The anti-forgery request token of a page's forms (its cookie is now in the host's client).</summary>
    public static string TokenOf(string page)
    {
        var match = TokenPattern().Match(page);
        Assert.True(match.Success, $"no anti-forgery field in: {page}");
        return WebUtility.HtmlDecode(match.Groups[1].Value);
    }

    /// <summary>A fresh token from the status page.</summary>
    public static async Task<string> TokenAsync(WebEndpointsHost host) => TokenOf(await StatusPageAsync(host));

    /// <summary>Posts a form to <paramref name="path"/> (as sent, not escaped again) with the token when one is given, and these fields.</summary>
    public static async Task<HttpResponseMessage> PostAsync(WebEndpointsHost host, string path, string? token, params (string Name, string Value)[] fields)
    {
        ArgumentNullException.ThrowIfNull(host);
        var values = fields.Select(f => new KeyValuePair<string, string>(f.Name, f.Value)).ToList();
        if (token is not null)
        {
            values.Add(new(AntiforgeryCheck.FormFieldName, token));
        }
        using var form = new FormUrlEncodedContent(values);
        return await host.Http.PostAsync(new Uri(path, UriKind.Relative), form).Guarded();
    }

    /// <summary>The form actions of a page (decoded), in page order.</summary>
    public static List<string> ActionsOf(string page) =>
        [.. ActionPattern().Matches(page).Select(m => WebUtility.HtmlDecode(m.Groups[1].Value))];

    /// <summary>The HTML of an account's section (the region its heading names) on a page.</summary>
    public static string SectionOf(string page, string name)
    {
        foreach (Match match in SectionPattern().Matches(page))
        {
            if (WebUtility.HtmlDecode(match.Groups[2].Value) == name)
            {
                return match.Value;
            }
        }
        Assert.Fail($"no section for {name} in: {page}");
        return "";
    }

    [GeneratedRegex("name=\"__csrf\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();

    [GeneratedRegex("<form method=\"post\"[^>]* action=\"([^\"]*)\"")]
    private static partial Regex ActionPattern();

    [GeneratedRegex("<section class=\"account\" aria-labelledby=\"(account-\\d+)\"[^>]*><h2 id=\"\\1\">([^<]*)</h2>.*?</section>", RegexOptions.Singleline)]
    private static partial Regex SectionPattern();
}
