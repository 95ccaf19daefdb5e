using System.Net;
using Microsoft.AspNetCore.Connections;

namespace EmailProxy.Hosting;

/// <summary>
/// Kestrel's transport, with the socket listener it binds handed to <paramref name="bound"/>: so that a
/// <see cref="MailListener"/> that a reload moves can stop accepting (free its port) at once, while
/// Kestrel still waits for the connections it accepted there.
/// </summary>
internal sealed class RecordingListenerFactory(IConnectionListenerFactory inner, Action<IConnectionListener> bound) : IConnectionListenerFactory
{
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default)
    {
        var listener = await inner.BindAsync(endpoint, cancellationToken);
        bound(listener);
        return listener;
    }
}
