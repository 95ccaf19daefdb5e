using EmailProxy.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace EmailProxy.LocalTls;

internal static class LocalTlsListenOptionsExtensions
{
    /// <summary>
    /// Puts <see cref="LocalTlsMiddleware"/> in front of a mail port's handler, with the listener's
    /// <paramref name="mode"/> (<see cref="GeneralOptions.TlsOf"/>), fixed for as long as the listener is bound.
    /// </summary>
    public static ListenOptions UseLocalTls(this ListenOptions listen, LocalTlsMode mode)
    {
        var services = listen.ApplicationServices;
        listen.Use(next => new LocalTlsMiddleware(next, services.GetRequiredService<LocalTlsService>(), mode, services.GetRequiredService<TimeProvider>()).OnConnectionAsync);
        return listen;
    }
}
