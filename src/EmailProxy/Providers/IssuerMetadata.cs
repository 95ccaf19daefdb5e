using System.Collections.Concurrent;

namespace EmailProxy.Providers;

/// <summary>
/// What the proxy knows of one issuer's discovery document: the document once read (kept while the process runs,
/// across reloads), or why the last read failed. One instance per issuer URL in the process (<see cref="For"/>), so
/// that every configuration read (start, reload, <c>check</c>) shares what was read, and accounts of one issuer
/// compare equal across reloads. Filled only by <see cref="IssuerDiscovery"/>, never by the configuration reader.
/// </summary>
internal sealed class IssuerMetadata
{
    private static readonly ConcurrentDictionary<string, IssuerMetadata> Known = new(StringComparer.Ordinal);

    private volatile DiscoveryDocument? _document;
    private volatile string? _problem;
    private volatile bool _stale;

    private IssuerMetadata(Uri issuer)
    {
        Issuer = issuer;
        DocumentUrl = new Uri($"{issuer.OriginalString.TrimEnd('/')}/.well-known/openid-configuration");
    }

    public Uri Issuer { get; }

    /// <summary><c>{issuer}/.well-known/openid-configuration</c> (OpenID Connect Discovery 1.0 section 4).</summary>
    public Uri DocumentUrl { get; }

    /// <summary>The document last read, even when marked stale (its endpoints are better than none until the next read).</summary>
    public DiscoveryDocument? Document => _document;

    /// <summary>Why the last read failed (one line), or null.</summary>
    public string? Problem => _problem;

    /// <summary>Whether the next use should read the document (never read, the last read failed, or an endpoint failed since).</summary>
    public bool NeedsRead => _document is null || _stale;

    /// <summary>One read at a time per issuer: concurrent logins share it.</summary>
    internal SemaphoreSlim Reading { get; } = new(1, 1);

    /// <summary>The entry of <paramref name="issuer"/> (compared as written, but for a trailing slash).</summary>
    public static IssuerMetadata For(Uri issuer) =>
        Known.GetOrAdd(issuer.OriginalString.TrimEnd('/'), _ => new IssuerMetadata(issuer));

    /// <summary>A token or device request to an endpoint of the document failed as a missing or moved endpoint would: read it again at the next use.</summary>
    public void Invalidate() => _stale = true;

    internal void Succeeded(DiscoveryDocument document)
    {
        _document = document;
        _problem = null;
        _stale = false;
    }

    internal void Failed(string problem)
    {
        _problem = problem;
        _stale = true;
    }

    public override string ToString() => Issuer.OriginalString;
}
