using EmailProxy.TokenStore;
using EmailProxy.Web;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Hosting;

/// <summary>
/// The running proxy's hold on its token folder: the instance lock (<see cref="TokenFileStore.InstanceLockPathFor"/>),
/// held for the proxy's life so that an offline <c>emailproxy auth</c> or <c>tokens clear</c> refuses
/// to write behind its back, and <c>control.token</c>, written once the lock is held and removed at
/// the end if it is still this process's. <see cref="Take"/> is called once the ports are bound (an
/// instance that fails to start never touches a running one's files). When the lock is held (an
/// offline <c>auth</c> signing in, or another proxy on this folder), it is tried again every
/// <see cref="RetryInterval"/>, so that control.token appears once that one is done.
/// </summary>
internal sealed partial class TokenFolderClaim(ControlToken token, string tokenDirectory, TimeProvider time, ILogger log, Action? takenLate = null) : IDisposable
{
    public static readonly TimeSpan RetryInterval = TimeSpan.FromSeconds(5);

    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private FileLock? _held;
    private bool _released;

    /// <summary>Whether the lock is held and control.token written.</summary>
    public bool IsHeld
    {
        get
        {
            lock (_gate)
            {
                return _held is not null;
            }
        }
    }

    /// <summary>The retry loop while another holds the folder; completed otherwise.</summary>
    public Task Retrying { get; private set; } = Task.CompletedTask;

    public void Take()
    {
        if (TryTake(firstTry: true))
        {
            return;
        }
        Retrying = RetryAsync(_stop.Token);
    }

    /// <summary>Removes control.token (if still ours) and lets the folder go; stops the retries.</summary>
    public void Release()
    {
        _stop.Cancel();
        lock (_gate)
        {
            _released = true;
            if (_held is not null)
            {
                token.RemoveIfOwn();
                _held.Dispose();
                _held = null;
            }
        }
    }

    public void Dispose()
    {
        Release();
        _stop.Dispose();
    }

    private async Task RetryAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(RetryInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                if (TryTake(firstTry: false))
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The proxy stops.
        }
    }

    /// <returns>True when done trying: the folder is held, or it cannot be (logged).</returns>
    private bool TryTake(bool firstTry)
    {
        var lockPath = TokenFileStore.InstanceLockPathFor(tokenDirectory);
        lock (_gate)
        {
            if (_released)
            {
                return true;
            }
            FileLock? held;
            try
            {
                held = TokenFileStore.TryTakeInstanceLock(tokenDirectory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogControlUnavailable(log, lockPath, e.Message);
                return true;
            }
            if (held is null)
            {
                if (firstTry)
                {
                    LogTokenFolderInUse(log, tokenDirectory, lockPath, RetryInterval.TotalSeconds);
                }
                return false;
            }
            try
            {
                token.Write();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogControlUnavailable(log, token.Path, e.Message);
            }
            _held = held;
            if (!firstTry)
            {
                LogTokenFolderTaken(log, tokenDirectory);
                // Whoever held the folder (an offline emailproxy auth) may have written tokens meanwhile: read them again.
                takenLate?.Invoke();
            }
            return true;
        }
    }

    [LoggerMessage(EventId = 5, EventName = "TokenFolderInUse", Level = LogLevel.Warning,
        Message = "Another process holds the token folder {TokenDirectory} ({LockFile}): emailproxy auth signing in without the proxy, or another proxy on this folder (two proxies on one folder overwrite each other's tokens). Until it lets go (tried every {RetrySeconds} s) this proxy writes no control.token, and emailproxy auth and tokens clear cannot reach it")]
    private static partial void LogTokenFolderInUse(ILogger logger, string tokenDirectory, string lockFile, double retrySeconds);

    [LoggerMessage(EventId = 7, EventName = "TokenFolderTaken", Level = LogLevel.Information,
        Message = "The token folder {TokenDirectory} is this proxy's now; control.token is written")]
    private static partial void LogTokenFolderTaken(ILogger logger, string tokenDirectory);

    [LoggerMessage(EventId = 6, EventName = "ControlUnavailable", Level = LogLevel.Warning,
        Message = "The command line's control of this proxy is not available: {Path} cannot be written ({Reason}); emailproxy auth and tokens clear will refuse to work beside it")]
    private static partial void LogControlUnavailable(ILogger logger, string path, string reason);
}
