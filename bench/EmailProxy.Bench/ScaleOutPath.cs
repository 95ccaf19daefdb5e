namespace EmailProxy.Bench;

/// <summary>One way to the account in the <c>scaleout</c> mode: where the clients connect and which proxies serve them there.</summary>
/// <param name="Letter">a, b, c or d, as in docs/performance.md.</param>
/// <param name="Port">The IMAP port the clients connect to: a proxy's own or the balancer's.</param>
/// <param name="Proxies">The proxies behind <paramref name="Port"/>, whose CPU is counted for this path.</param>
/// <param name="Balanced">Whether haproxy is on the way.</param>
internal sealed record ScaleOutPath(string Letter, string Label, int Port, IReadOnlyList<ProxyInstance> Proxies, bool Balanced)
{
    public override string ToString() => $"{Letter}. {Label}";
}
