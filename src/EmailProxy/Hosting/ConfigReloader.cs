using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using EmailProxy.Configuration;
using EmailProxy.LocalTls;
using EmailProxy.OAuth2;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Hosting;

/// <summary>
/// Reads the configuration file again on SIGHUP, when the file changes (<see cref="Debounce"/> after the
/// last change seen in its folder: editors, <c>docker cp</c> and <c>install</c> replace the file by a
/// rename), and when asked (<see cref="ReloadAsync"/>, the control endpoint). The file is read and checked
/// as at start (<see cref="ConfigReader"/>, <see cref="ListenerExposure"/>, <see cref="StateFolders"/>);
/// one that fails keeps the configuration in effect and is one warning with the errors. A valid one is
/// put in effect at once for new logins (<see cref="LiveConfig"/>): accounts, servers and the live keys;
/// an account whose OAuth settings changed loses its access token in memory; the listeners whose address
/// or TLS mode changed are rebound (<see cref="MailListeners.ApplyAsync"/>). Open sessions are not
/// touched. The keys that need a restart keep their values and are named (<see cref="ConfigChanges.Pin"/>).
/// One reload at a time: one asked for meanwhile runs after it.
/// </summary>
internal sealed partial class ConfigReloader(
    LiveConfig live, MailListeners listeners, TokenService tokens, LocalTlsService localTls, TimeProvider time, ILogger<ConfigReloader> log)
    : IHostedLifecycleService, IDisposable
{
    /// <summary>How long the file must be quiet before a change is read: an editor's save is several events.</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromSeconds(1);

    public const string SignalTrigger = "SIGHUP";
    public const string FileTrigger = "file change";
    public const string RequestTrigger = "emailproxy reload";

    private readonly Channel<(string Trigger, TaskCompletionSource<ReloadOutcome>? Done)> _requests =
        Channel.CreateUnbounded<(string, TaskCompletionSource<ReloadOutcome>?)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private PosixSignalRegistration? _signal;
    private FileSystemWatcher? _watcher;
    private ITimer? _quiet;
    private byte[] _lastRead = [];
    private HashSet<string> _warned = [];

    private string ConfigPath => Path.GetFullPath(live.Current.ConfigPath);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>From here SIGHUP no longer ends the process (its default action): one that comes while the proxy starts is taken once it has.</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsWindows())
        {
            _signal = PosixSignalRegistration.Create(PosixSignal.SIGHUP, signal =>
            {
                signal.Cancel = true;
                Request(SignalTrigger, null);
            });
        }
        return Task.CompletedTask;
    }

    /// <summary>Once the listeners have had their first try: a reload never races the start.</summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        _lastRead = HashOfFile();
        // The start logged these already; a reload logs only the ones that are new.
        _warned = [.. ConfigReader.ReadFile(live.Current.ConfigPath).Warnings.Select(warning => warning.ToString())];
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        _quiet = time.CreateTimer(_ => Request(FileTrigger, null), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Watch();
        return Task.CompletedTask;
    }

    /// <summary>Reads the file now (after any reload under way) and tells how it ended.</summary>
    public async Task<ReloadOutcome> ReloadAsync(string trigger, CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource<ReloadOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_requests.Writer.TryWrite((trigger, done)))
        {
            return new ReloadOutcome(false, "the proxy is stopping");
        }
        return await done.Task.WaitAsync(cancellationToken);
    }

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        StopWatching();
        _requests.Writer.TryComplete();
        await _stopping.CancelAsync();
        await _loop.WaitAsync(cancellationToken);
    }

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        StopWatching();
        _stopping.Dispose();
    }

    private void StopWatching()
    {
        _signal?.Dispose();
        _signal = null;
        _watcher?.Dispose();
        _watcher = null;
        _quiet?.Dispose();
    }

    private void Request(string trigger, TaskCompletionSource<ReloadOutcome>? done) => _requests.Writer.TryWrite((trigger, done));

    private void Watch()
    {
        var path = ConfigPath;
        var folder = Path.GetDirectoryName(path);
        if (folder is null || !Directory.Exists(folder))
        {
            return;
        }
        var name = Path.GetFileName(path);
        try
        {
            _watcher = new FileSystemWatcher(folder)
            {
                IncludeSubdirectories = false,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            FileSystemEventHandler changed = (_, e) =>
            {
                if (string.Equals(e.Name, name, StringComparison.Ordinal))
                {
                    _quiet?.Change(Debounce, Timeout.InfiniteTimeSpan);
                }
            };
            _watcher.Changed += changed;
            _watcher.Created += changed;
            _watcher.Renamed += (_, e) =>
            {
                if (string.Equals(e.Name, name, StringComparison.Ordinal))
                {
                    _quiet?.Change(Debounce, Timeout.InfiniteTimeSpan);
                }
            };
            _watcher.Error += (_, e) => LogWatchFailed(log, folder, e.GetException().Message);
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            // inotify's watch limit, for one: SIGHUP still works.
            LogWatchFailed(log, folder, e.Message);
            _watcher?.Dispose();
            _watcher = null;
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (trigger, done) in _requests.Reader.ReadAllAsync(cancellationToken))
            {
                ReloadOutcome outcome;
                try
                {
                    outcome = await ReloadOnceAsync(trigger, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    done?.TrySetResult(new ReloadOutcome(false, "the proxy is stopping"));
                    return;
                }
#pragma warning disable CA1031 // A reload that fails in an unforeseen way must leave the proxy serving, and the next reload possible.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    LogReloadFailed(log, e, trigger, e.Message);
                    outcome = new ReloadOutcome(false, $"the reload failed: {e.Message}");
                }
                done?.TrySetResult(outcome);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The proxy stops.
        }
    }

    /// <summary>Reads, checks and applies the file once. Internal for tests.</summary>
    internal async Task<ReloadOutcome> ReloadOnceAsync(string trigger, CancellationToken cancellationToken)
    {
        var content = HashOfFile();
        if (trigger == FileTrigger && content.AsSpan().SequenceEqual(_lastRead))
        {
            // Touched, or written back as it was: nothing to read (and an invalid file is not warned about twice).
            return new ReloadOutcome(true, "no changes");
        }
        _lastRead = content;
        var path = live.Current.ConfigPath;
        var read = ConfigReader.ReadFile(path);
        if (read.Config is not { } file || !read.IsValid)
        {
            return Refuse(trigger, read.Errors.Select(error => error.ToString()));
        }
        var running = live.Current;
        var (next, needRestart) = ConfigChanges.Pin(running, file);
        if (Recheck(next) is { Count: > 0 } errors)
        {
            return Refuse(trigger, errors);
        }

        var changes = ConfigChanges.Of(running, next, needRestart);
        var warnings = read.Warnings.Select(warning => warning.ToString()).ToHashSet();
        foreach (var warning in warnings.Where(warning => !_warned.Contains(warning)))
        {
            LogConfigWarning(log, warning);
        }
        _warned = warnings;
        live.Swap(next);
        foreach (var name in changes.OAuthChanged)
        {
            await tokens.ForgetAccessTokenAsync(next.Accounts[name], cancellationToken);
        }
        await listeners.ApplyAsync(next.General, cancellationToken);
        var summary = changes.ToString();
        LogReloaded(log, trigger, summary);
        return new ReloadOutcome(true, summary);
    }

    /// <summary>
    /// What start-up would also refuse in the configuration about to be put in effect, with the keys that
    /// need a restart at their running values: listeners off loopback without passwords, a folder that
    /// cannot be written, local TLS that was off at start (no certificate was made for it).
    /// </summary>
    private List<string> Recheck(ProxyConfig next)
    {
        var problems = new ConfigProblems();
        ListenerExposure.Check(next.General, next.Accounts.Values, problems);
        var errors = problems.Errors.Select(error => error.ToString()).ToList();
        if (!localTls.Enabled && next.General.AnyLocalTls)
        {
            errors.Add($"[{ConfigKeys.GeneralSection}] {ConfigKeys.General.LocalTls}: local TLS was off on every listener at start, so no certificate was made for it: turning it on needs a restart");
        }
        if (StateFolders.FirstProblem(next) is { } folder)
        {
            errors.Add(folder);
        }
        return errors;
    }

    private ReloadOutcome Refuse(string trigger, IEnumerable<string> errors)
    {
        var text = string.Join("; ", errors);
        LogNotReloaded(log, trigger, text);
        return new ReloadOutcome(false, text);
    }

    private byte[] HashOfFile()
    {
        try
        {
            using var stream = File.OpenRead(ConfigPath);
            return SHA256.HashData(stream);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    [LoggerMessage(EventId = 11, EventName = "ConfigReloaded", Level = LogLevel.Information,
        Message = "Configuration reloaded ({Trigger}): {Summary}")]
    private static partial void LogReloaded(ILogger logger, string trigger, string summary);

    [LoggerMessage(EventId = 12, EventName = "ConfigNotReloaded", Level = LogLevel.Warning,
        Message = "Configuration not reloaded ({Trigger}): {Errors}. The configuration in effect stays as it was")]
    private static partial void LogNotReloaded(ILogger logger, string trigger, string errors);

    [LoggerMessage(EventId = 13, EventName = "ConfigReloadFailed", Level = LogLevel.Error,
        Message = "Configuration reload ({Trigger}) failed unexpectedly: {Reason}. The proxy serves on; the next reload tries again")]
    private static partial void LogReloadFailed(ILogger logger, Exception exception, string trigger, string reason);

    [LoggerMessage(EventId = 14, EventName = "ConfigWatchFailed", Level = LogLevel.Warning,
        Message = "Cannot watch {Folder} for changes of the configuration file ({Reason}); reload it with SIGHUP instead")]
    private static partial void LogWatchFailed(ILogger logger, string folder, string reason);

    [LoggerMessage(EventId = 15, EventName = "ConfigReloadWarning", Level = LogLevel.Warning, Message = "Configuration: {Warning}")]
    private static partial void LogConfigWarning(ILogger logger, string warning);
}
