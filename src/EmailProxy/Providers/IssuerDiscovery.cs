using System.Net;
using System.Text;

namespace EmailProxy.Providers;

/// <summary>
/// Reads an issuer's OpenID Connect discovery document for <c>provider = generic</c> accounts with an <c>issuer</c>.
/// This is network I/O, so the configuration reader never does it: the proxy reads each issuer's document at its
/// first use (a sign-in, a token request) and in the background at start (<see cref="IssuerDiscoveryWarmup"/>), and
/// <c>emailproxy check</c> reads it to report on it. A read is bounded by <see cref="Timeout"/>; a failed read, or a
/// token request that found an endpoint missing since, makes the next use read again. Nothing stored is touched.
/// </summary>
internal sealed class IssuerDiscovery(HttpClient http, TimeProvider time)
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Makes sure the issuer's document is read (once, however many callers wait): null when it is, else the one-line
    /// reason it is not (also kept in <see cref="IssuerMetadata.Problem"/>), which names the document's address.
    /// </summary>
    public async Task<string?> EnsureAsync(IssuerMetadata issuer, CancellationToken cancellationToken)
    {
        if (!issuer.NeedsRead)
        {
            return null;
        }
        await issuer.Reading.WaitAsync(cancellationToken);
        try
        {
            if (!issuer.NeedsRead)
            {
                return null;
            }
            var (document, problem) = await ReadAsync(issuer.Issuer, cancellationToken);
            if (document is null)
            {
                issuer.Failed(problem!);
                return problem;
            }
            issuer.Succeeded(document);
            return null;
        }
        finally
        {
            issuer.Reading.Release();
        }
    }

    /// <summary>Reads and parses the document of <paramref name="issuer"/> once, without the cache: the document, or why not (one line).</summary>
    public async Task<(DiscoveryDocument? Document, string? Problem)> ReadAsync(Uri issuer, CancellationToken cancellationToken)
    {
        var address = IssuerMetadata.For(issuer).DocumentUrl;
        var what = $"the discovery document {address.AbsoluteUri}";
        using var timer = new CancellationTokenSource(Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, address);
            request.Headers.Accept.ParseAdd("application/json");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, linked.Token);
            if (response.StatusCode == HttpStatusCode.NotFound)
            {
                return (null, $"{what} does not exist (HTTP 404): check issuer (it must be the issuer URL itself, without /.well-known/…), or set authorize_url and token_url instead");
            }
            if (!response.IsSuccessStatusCode)
            {
                return (null, $"{what} could not be read: HTTP {(int)response.StatusCode} {response.ReasonPhrase}".TrimEnd());
            }
            if (response.Content.Headers.ContentLength > DiscoveryDocument.MaxLength)
            {
                return (null, $"{what} is larger than {DiscoveryDocument.MaxLength / 1024} KiB: it is not a discovery document");
            }
            var body = await ReadBoundedAsync(response.Content, linked.Token);
            if (body is null)
            {
                return (null, $"{what} is larger than {DiscoveryDocument.MaxLength / 1024} KiB: it is not a discovery document");
            }
            var document = DiscoveryDocument.Parse(issuer, body, out var problem);
            return document is null ? (null, $"{what} {problem}") : (document, null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, $"{what} did not come within {Timeout.TotalSeconds:0} seconds");
        }
        catch (HttpRequestException e)
        {
            return (null, $"{what} could not be read: {e.Message}");
        }
    }

    private static async Task<string?> ReadBoundedAsync(HttpContent content, CancellationToken cancellationToken)
    {
        await using var stream = await content.ReadAsStreamAsync(cancellationToken);
        var buffer = new byte[DiscoveryDocument.MaxLength + 1];
        var length = 0;
        int read;
        while (length < buffer.Length && (read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken)) > 0)
        {
            length += read;
        }
        return length > DiscoveryDocument.MaxLength ? null : Encoding.UTF8.GetString(buffer, 0, length);
    }
}
