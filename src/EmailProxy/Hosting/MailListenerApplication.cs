using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http.Features;

namespace EmailProxy.Hosting;

/// <summary>
/// The HTTP application a <see cref="MailListener"/>'s own Kestrel is started with. Its listen options end
/// in a connection handler, which never hands a connection on to HTTP, so this is never called with a
/// request: Kestrel's <c>StartAsync</c> only needs one.
/// </summary>
internal sealed class MailListenerApplication : IHttpApplication<object>
{
    public static readonly MailListenerApplication Instance = new();

    public object CreateContext(IFeatureCollection contextFeatures) => Instance;

    public Task ProcessRequestAsync(object context) => Task.CompletedTask;

    public void DisposeContext(object context, Exception? exception)
    {
    }
}
