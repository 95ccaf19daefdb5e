using EmailProxy.Configuration;
using Microsoft.AspNetCore.Http;

namespace EmailProxy.Web;

/// <summary>
/// The HTTP listener answers only requests whose <c>Host</c> is one of its own names: redirect_uri's
/// host, <c>localhost</c>, 127.0.0.1, [::1], web_listen's address when it is a specific one, and
/// <c>web_hosts</c>. Anything else gets 421 and a page that says which names work, nothing more. A web page that rebinds its own
/// domain name to 127.0.0.1 (DNS rebinding) sends its own name as the Host: without this check its
/// script could read the status page and the sign-in redirect (with the sign-in's state) as if it
/// were the proxy's own page. <c>/healthz</c> and <c>/readyz</c> answer any Host (they tell nothing
/// secret), so that a probe by whatever address (a container's, a pod's) still works.
/// </summary>
internal sealed class HostHeaderCheck
{
    private readonly HashSet<string> _names = new(StringComparer.OrdinalIgnoreCase);

    public HostHeaderCheck(ProxyConfig config)
    {
        var general = config.General;
        _names.UnionWith(["localhost", "127.0.0.1", "[::1]", general.RedirectUri.Host]);
        var web = WebListenAddress.Of(general);
        if (web.Address is { } address && !address.Equals(System.Net.IPAddress.Any) && !address.Equals(System.Net.IPAddress.IPv6Any))
        {
            _names.Add(address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString());
        }
        _names.UnionWith(general.WebHosts);
    }

    /// <summary>The names a request's Host may carry (without a port).</summary>
    public IReadOnlyCollection<string> Names => _names;

    public async Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        var path = context.Request.Path;
        if (path.Equals(AdminAuthentication.HealthPath, StringComparison.Ordinal) || path.Equals(AdminAuthentication.ReadyPath, StringComparison.Ordinal)
            || IsOwn(context.Request.Host))
        {
            await next(context);
            return;
        }
        context.Response.Headers.CacheControl = "no-store";
        await HtmlPage.Message(StatusCodes.Status421MisdirectedRequest, "Wrong address for this page",
                "This is Email OAuth2 Proxy's page, and it answers only by its own names: the host of redirect_uri, localhost, 127.0.0.1 or [::1]. "
                + "Open it by one of those, or add the name you used to web_hosts in the [general] section. Nothing was done.")
            .ExecuteAsync(context);
    }

    private bool IsOwn(HostString host) => host.HasValue && _names.Contains(host.Host);
}
