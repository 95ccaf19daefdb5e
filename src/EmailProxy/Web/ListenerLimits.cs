using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace EmailProxy.Web;

/// <summary>
/// The sizes the HTTP listener takes: it serves small pages and forms of a few fields (a password, a pasted
/// address), so anything far larger is refused before it costs memory. Kestrel refuses a request line or headers
/// over the limit itself, before any of the proxy's code runs (414, 431: a bare status, it cannot carry a page);
/// a body or form over the limit is refused while the form is read (413, a page from <see cref="AntiforgeryCheck"/>).
/// Kestrel's limits are the server's: they apply to every HTTP listener, and the mail listeners are not HTTP.
/// </summary>
internal static class ListenerLimits
{
    /// <summary>A request body (a form, a control endpoint's JSON): the longest pasted address is a few KiB.</summary>
    public const long MaxRequestBodyBytes = 64 * 1024;

    /// <summary>The request line: the provider's return carries the code and the state in the query, a few KiB.</summary>
    public const int MaxRequestLineBytes = 8 * 1024;

    /// <summary>All headers: a browser sends every cookie of the host name (other programs' on localhost too).</summary>
    public const int MaxRequestHeadersBytes = 32 * 1024;

    public const int MaxRequestHeaderCount = 100;

    /// <summary>How long the headers may take to arrive (Kestrel's default is 30 s): a slow client holds a connection no longer.</summary>
    public static readonly TimeSpan RequestHeadersTimeout = TimeSpan.FromSeconds(15);

    public static void Apply(KestrelServerLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        limits.MaxRequestBodySize = MaxRequestBodyBytes;
        limits.MaxRequestLineSize = MaxRequestLineBytes;
        limits.MaxRequestHeadersTotalSize = MaxRequestHeadersBytes;
        limits.MaxRequestHeaderCount = MaxRequestHeaderCount;
        limits.RequestHeadersTimeout = RequestHeadersTimeout;
    }

    /// <summary>The form reader's limits: a few short fields. A form over them gets 413 (<see cref="AntiforgeryCheck"/>).</summary>
    public static void Forms(FormOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ValueCountLimit = 32;
        options.KeyLengthLimit = 256;
        options.ValueLengthLimit = (int)MaxRequestBodyBytes;
        options.MultipartBodyLengthLimit = MaxRequestBodyBytes;
    }
}
