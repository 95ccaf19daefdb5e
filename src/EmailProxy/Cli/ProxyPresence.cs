using EmailProxy.Configuration;
using EmailProxy.TokenStore;

namespace EmailProxy.Cli;

/// <summary>
/// How a command that changes tokens (<c>auth</c>, <c>tokens clear</c>) works beside the proxy:
/// through the running proxy's control endpoints (<see cref="Online"/>); else alone, holding the token
/// folder's instance lock for its whole run (<see cref="Offline"/>), so that a proxy starting meanwhile
/// does not take the folder; or not at all (<see cref="Refusal"/>), when a proxy holds the folder but
/// its control endpoint cannot be reached: writing then would go behind its back.
/// </summary>
internal sealed class ProxyPresence : IDisposable
{
    private ProxyPresence(ControlClient? online, FileLock? offline, string? refusal)
    {
        Online = online;
        Offline = offline;
        Refusal = refusal;
    }

    public ControlClient? Online { get; }
    public FileLock? Offline { get; }

    /// <summary>Why the command must not run (one line), or null.</summary>
    public string? Refusal { get; }

    public static async Task<ProxyPresence> FindAsync(ProxyConfig config, CancellationToken cancellationToken)
    {
        // The instance lock first: when it is free no proxy runs, and whatever listens on the proxy's port
        // (a stale control.token's port taken by another program) is never sent the token or trusted.
        var tokenDirectory = config.TokenDirectory;
        var lockPath = TokenFileStore.InstanceLockPathFor(tokenDirectory);
        FileLock? held;
        try
        {
            held = TokenFileStore.TryTakeInstanceLock(tokenDirectory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new ProxyPresence(null, null, $"the token folder's lock {lockPath} cannot be taken: {e.Message}");
        }
        if (held is not null)
        {
            return new ProxyPresence(null, held, null);
        }
        if (await ControlClient.TryConnectAsync(config, cancellationToken) is { } client)
        {
            return new ProxyPresence(client, null, null);
        }
        var web = WebListenAddress.Of(config.General);
        var why = ControlClient.LoopbackEndPointOf(config.General) is null
            ? $"web_listen {web} is not on loopback, and control requests are taken only over loopback"
            : !File.Exists(Web.ControlToken.PathFor(tokenDirectory))
                ? $"there is no {Web.ControlToken.PathFor(tokenDirectory)}, so the holder is another emailproxy auth or tokens clear at work, or a proxy that could not write it"
                : $"nothing answers on {ControlClient.LoopbackEndPointOf(config.General)}";
        return new ProxyPresence(null, null,
            $"another process holds the token folder {tokenDirectory} ({lockPath}) and no proxy's control endpoint can be reached: {why}; wait for it to finish, run this command where the proxy runs (e.g. docker exec -i CONTAINER emailproxy …), or stop the proxy first");
    }

    public void Dispose()
    {
        Online?.Dispose();
        Offline?.Dispose();
    }
}
