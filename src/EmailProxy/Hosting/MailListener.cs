using System.Net;
using System.Net.Sockets;
using EmailProxy.Configuration;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace EmailProxy.Hosting;

/// <summary>
/// One mail port (IMAP, SMTP or POP) on its own Kestrel server, so that a port that cannot be bound
/// stops only this listener and not the proxy (one Kestrel fails its whole start for one port).
/// Kestrel still does the accepting and the shutdown; <paramref name="configure"/> builds the same
/// connection pipeline as before (local TLS, then the protocol's connection handler). A failed bind
/// leaves the listener unbound with the reason in <see cref="Problem"/>; <see cref="MailListeners"/>
/// tries it again. A reload that moves the listener retires it (<see cref="StopAccepting"/>):
/// its port is freed, its open sessions run on until they end.
/// </summary>
/// <param name="protocol">The protocol's name for logs and /readyz ("IMAP").</param>
/// <param name="applicationServices">The proxy's services, which the pipeline's middleware and handler come from.</param>
internal sealed class MailListener(string protocol, IPEndPoint endPoint, Action<ListenOptions> configure,
    IServiceProvider applicationServices, IConnectionListenerFactory transport, ILoggerFactory loggers) : IAsyncDisposable
{
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _bound = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private TaskCompletionSource _nextAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private KestrelServer? _server;
    private string? _problem = "not bound yet";

    public string Protocol { get; } = protocol;

    public IPEndPoint EndPoint { get; } = endPoint;

    /// <summary>Which of the configured listeners this is (null: one the configuration does not name, in tests); a reload rebinds by it.</summary>
    public MailListenerKind? Kind { get; init; }

    /// <summary>The local TLS mode its pipeline was built with; a reload that changes it rebinds the listener.</summary>
    public LocalTlsMode Tls { get; init; }

    /// <summary>Why the listener is not bound (the last bind's failure), or null while it is bound.</summary>
    public string? Problem
    {
        get
        {
            lock (_gate)
            {
                return _problem;
            }
        }
    }

    public bool IsBound => Problem is null;

    /// <summary>Completes the first time the listener is bound.</summary>
    public Task Bound => _bound.Task;

    /// <summary>Completes when the next bind attempt from now has ended, bound or not (tests wait on it instead of sleeping).</summary>
    internal Task NextAttempt
    {
        get
        {
            lock (_gate)
            {
                return _nextAttempt.Task;
            }
        }
    }

    /// <summary>Binds the port with a new Kestrel server; on failure keeps the reason and returns false.</summary>
    public async Task<bool> TryBindAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await BindAsync(cancellationToken);
        }
        finally
        {
            TaskCompletionSource ended;
            lock (_gate)
            {
                ended = _nextAttempt;
                _nextAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
            }
            ended.TrySetResult();
        }
    }

    private async Task<bool> BindAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_server is not null)
            {
                return true;
            }
        }
        var options = new KestrelServerOptions { ApplicationServices = applicationServices, AddServerHeader = false };
        options.Listen(EndPoint, configure);
        var server = new KestrelServer(Options.Create(options), transport, loggers);
        try
        {
            await server.StartAsync(MailListenerApplication.Instance, cancellationToken);
        }
        catch (Exception e) when (e is not (IOException or SocketException))
        {
            // Cancelled while starting (the proxy stops), or anything unforeseen: never leave a server holding the port.
            server.Dispose();
            throw;
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            server.Dispose();
            lock (_gate)
            {
                _problem = ReasonOf(e);
            }
            return false;
        }
        lock (_gate)
        {
            _server = server;
            _problem = null;
        }
        _bound.TrySetResult();
        return true;
    }

    /// <summary>
    /// Stops accepting and waits for the open sessions to end (they end themselves on the host's stopping
    /// signal); when <paramref name="cancellationToken"/> fires (the shutdown timeout) Kestrel aborts the rest.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        KestrelServer? server;
        lock (_gate)
        {
            server = _server;
            _server = null;
            _problem = "stopped";
        }
        if (server is not null)
        {
            await server.StopAsync(cancellationToken);
            server.Dispose();
        }
    }

    /// <summary>
    /// Stops accepting, and gives back the wait for the sessions already open here: they run on until
    /// they end (the proxy's sessions end only on its stopping signal, never on Kestrel's request to
    /// close), or until <paramref name="abort"/> fires (the proxy's shutdown timeout), when Kestrel
    /// aborts the rest. Kestrel's stop unbinds the port first, before it waits for the connections; a
    /// listener bound to the same port right after is retried like any other if it is not free yet.
    /// </summary>
    public Task StopAccepting(CancellationToken abort)
    {
        KestrelServer? server;
        lock (_gate)
        {
            server = _server;
            _server = null;
            _problem = "stopped";
        }
        return server is null ? Task.CompletedTask : DrainAsync(server, abort);
    }

    private static async Task DrainAsync(KestrelServer server, CancellationToken abort)
    {
        try
        {
            await server.StopAsync(abort);
        }
        finally
        {
            server.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        using var stopped = new CancellationTokenSource();
        await stopped.CancelAsync();
        await StopAsync(stopped.Token);
    }

    /// <summary>
    /// The reason in an operator's words. Kestrel wraps "in use" in an IOException that names the
    /// address as an http:// URL; any other socket error (an address not on this machine, a port
    /// below 1024 without the right) comes as the SocketException itself.
    /// </summary>
    internal static string ReasonOf(Exception e)
    {
        for (var inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is AddressInUseException)
            {
                return "the port is in use by another program";
            }
            if (inner is SocketException socket)
            {
                return socket.SocketErrorCode switch
                {
                    SocketError.AddressAlreadyInUse => "the port is in use by another program",
                    SocketError.AddressNotAvailable => "the address is not one of this machine's (yet)",
                    SocketError.AccessDenied => "not allowed to listen there (a port below 1024 needs the right to bind it)",
                    _ => socket.Message,
                };
            }
        }
        return e.Message;
    }
}
