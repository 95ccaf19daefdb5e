using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;

namespace EmailProxy.LocalTls;

internal static class LocalTlsListenOptionsExtensions
{
    /// <summary>
    /// Puts <see cref="LocalTlsMiddleware"/> in front of a mail port's handler.
    /// <paramref name="sniffImplicitTls"/>: the port also serves implicit TLS, recognised from the first byte (IMAP, POP).
    /// </summary>
    public static ListenOptions UseLocalTls(this ListenOptions listen, bool sniffImplicitTls)
    {
        var services = listen.ApplicationServices;
        listen.Use(next => new LocalTlsMiddleware(next, services.GetRequiredService<LocalTlsService>(), sniffImplicitTls, services.GetRequiredService<TimeProvider>()).OnConnectionAsync);
        return listen;
    }
}
