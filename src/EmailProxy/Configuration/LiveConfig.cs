namespace EmailProxy.Configuration;

/// <summary>
/// The configuration in effect now: the one read at start, replaced as a whole by each valid reload
/// (<see cref="Hosting.ConfigReloader"/>). Readers take <see cref="Current"/> once per use (one login,
/// one request, one pass of the refresh worker) and decide from that one snapshot, never from two.
/// The keys that need a restart keep their values from the start in every snapshot (see
/// <see cref="ConfigChanges.Pin"/>), so <see cref="Current"/> always says what the proxy runs with;
/// the services that read only such keys take the <see cref="ProxyConfig"/> of the start instead.
/// </summary>
internal sealed class LiveConfig(ProxyConfig initial)
{
    private ProxyConfig _current = initial;

    /// <summary>After a swap, with the configuration before and after it (on the reloading thread; handlers must be quick and must not throw).</summary>
    public event Action<ProxyConfig, ProxyConfig>? Changed;

    public ProxyConfig Current => Volatile.Read(ref _current);

    /// <summary>Puts <paramref name="next"/> in effect at once for every later reader, then tells <see cref="Changed"/>.</summary>
    /// <returns>The configuration it replaced.</returns>
    public ProxyConfig Swap(ProxyConfig next)
    {
        ArgumentNullException.ThrowIfNull(next);
        var previous = Interlocked.Exchange(ref _current, next);
        Changed?.Invoke(previous, next);
        return previous;
    }
}
