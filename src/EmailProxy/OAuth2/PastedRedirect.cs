using Microsoft.AspNetCore.WebUtilities;

namespace EmailProxy.OAuth2;

/// <summary>
/// What a person pasted after a browser sign-in with <c>local_server_auth = false</c>: the address the
/// browser ended on (<c>http(s)://host/path?code=…&amp;state=…</c>, often a "this site can't be reached"
/// page), or just its query string, with whatever a terminal or a chat program put around it
/// (whitespace, quotes, <c>&lt;…&gt;</c>). <see cref="Parse"/> yields the redirect's parameters, or
/// <see cref="Problem"/>: one reason it cannot be used. The text itself is never repeated in a
/// problem (it holds the authorization code).
/// </summary>
internal sealed record PastedRedirect
{
    /// <summary>The longest text taken: Microsoft's codes run to about 1.5 KiB; anything much longer is not a redirect.</summary>
    public const int MaxLength = 8 * 1024;

    public string? State { get; private init; }
    public string? Code { get; private init; }
    public string? Error { get; private init; }
    public string? ErrorDescription { get; private init; }

    /// <summary>Why the text cannot be used (null when it can); says what to paste instead.</summary>
    public string? Problem { get; private init; }

    public static PastedRedirect Parse(string? text)
    {
        if (text is null || text.Length > MaxLength)
        {
            return Refused(text is null
                ? "nothing was pasted"
                : $"the pasted text is longer than {MaxLength / 1024} KiB: it is not the address the browser ended on");
        }
        var trimmed = Unwrap(text);
        if (trimmed.Length == 0)
        {
            return Refused("nothing was pasted");
        }

        string query;
        if (trimmed.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            if (!Uri.TryCreate(trimmed, UriKind.Absolute, out var uri))
            {
                return Refused("the pasted text is not a valid address; copy the whole address from the browser's address bar");
            }
            query = uri.Query;
        }
        else if (trimmed.Contains("://", StringComparison.Ordinal) || trimmed.Any(char.IsWhiteSpace) || !trimmed.Contains('=', StringComparison.Ordinal))
        {
            return Refused("the pasted text is not an address the browser ended on (http://… or https://… with code= and state=), nor its query string");
        }
        else
        {
            // Just the query string, with or without its '?'; a fragment is not part of it.
            var fragment = trimmed.IndexOf('#', StringComparison.Ordinal);
            query = fragment < 0 ? trimmed : trimmed[..fragment];
        }

        var parameters = QueryHelpers.ParseQuery(query);
        foreach (var name in (ReadOnlySpan<string>)["state", "code", "error", "error_description"])
        {
            if (parameters.TryGetValue(name, out var values) && values.Count > 1)
            {
                return Refused($"the pasted address carries {name} more than once: it is not one the provider sent");
            }
        }
        string? Value(string name) => parameters.TryGetValue(name, out var values) && values.ToString() is { Length: > 0 } value ? value : null;

        var state = Value("state");
        var code = Value("code");
        var error = Value("error");
        if (state is null)
        {
            return Refused(code is null && error is null
                ? "the pasted address carries no code and no state: it is not the address the browser ended on after the sign-in (copy it from the address bar once the provider is done)"
                : "the pasted address carries no state: copy the whole address from the browser's address bar");
        }
        if (code is null && error is null)
        {
            return Refused("the pasted address carries no code: copy the whole address from the browser's address bar once the provider is done");
        }
        return new PastedRedirect { State = state, Code = code, Error = error, ErrorDescription = Value("error_description") };
    }

    /// <summary>Never shows the code or the state.</summary>
    public override string ToString() =>
        $"PastedRedirect {{ State = {(State is null ? "none" : "set")}, Code = {(Code is null ? "none" : "set")}, Error = {Error}, Problem = {Problem} }}";

    private static PastedRedirect Refused(string problem) => new() { Problem = problem };

    /// <summary>The text without the whitespace, quotes and angle brackets a terminal, a mail or a chat put around it.</summary>
    private static string Unwrap(string text)
    {
        var span = text.AsSpan().Trim();
        while (span.Length >= 2
            && ((span[0] == '"' && span[^1] == '"') || (span[0] == '\'' && span[^1] == '\'') || (span[0] == '<' && span[^1] == '>')
                || (span[0] == '`' && span[^1] == '`')))
        {
            span = span[1..^1].Trim();
        }
        return span.ToString();
    }
}
