using System.Net;

namespace EmailProxy.Configuration;

/// <summary>
/// Where the HTTP listener binds. <c>web_listen</c> when set, exactly; else <c>redirect_uri</c>'s port
/// on its host when that is an IP literal, on both loopbacks for <c>localhost</c>, and on 127.0.0.1
/// for any other name. A name is never resolved to choose an address, and never binds every interface:
/// before issue 11 it did, so a redirect_uri host that merely resolved to 127.0.0.1 opened the
/// listener to the network. Binding elsewhere takes an explicit <c>web_listen</c> (and then
/// <c>admin_password</c>).
/// </summary>
/// <param name="Address">The address to bind; null for <c>localhost</c>: 127.0.0.1 and ::1, as Kestrel's ListenLocalhost.</param>
/// <param name="Port">The TCP port.</param>
/// <param name="FromHostName">True when a redirect_uri host name other than localhost was replaced by 127.0.0.1.</param>
internal sealed record WebListenAddress(IPAddress? Address, int Port, bool FromHostName)
{
    /// <summary>Whether only this machine can reach the listener.</summary>
    public bool IsLoopback => Address is null || ListenAddress.IsLoopback(Address);

    public static WebListenAddress Of(GeneralOptions general)
    {
        if (general.WebListen is { } explicitAddress)
        {
            return new(explicitAddress.Address, explicitAddress.Port, FromHostName: false);
        }
        var uri = general.RedirectUri;
        if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address))
        {
            return new(address, uri.Port, FromHostName: false);
        }
        return uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            ? new(null, uri.Port, FromHostName: false)
            : new(IPAddress.Loopback, uri.Port, FromHostName: true);
    }

    public override string ToString() => Address is null ? $"localhost:{Port}" : new IPEndPoint(Address, Port).ToString();
}
