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
/// touched; their sign-ins under way end (<see cref="SignInManager.EndSignInsOf"/>), as do those of a removed account.
/// The keys that need a restart keep their values and are named (<see cref="ConfigChanges.Pin"/>).
/// One reload at a time: one asked for meanwhile runs after it. SIGHUP is registered before the start by
/// <see cref="HangupSignal"/>; one that came while the proxy started is taken once it has.
/// </summary>
internal sealed partial class ConfigReloader(
    LiveConfig live, MailListeners listeners, TokenService tokens, SignInManager signIns, LocalTlsService localTls, HangupSignal hangup,
    TimeProvider time, ILogger<ConfigReloader> log)
    : IHostedLifecycleService, IDisposable
{
    /// <summary>How long the file must be quiet before a change is read: an editor's save is several events.</summary>
    public static readonly TimeSpan Debounce = TimeSpan.FromSeconds(1);

    public const string SignalTrigger = "SIGHUP";
    public const string EarlySignalTrigger = "SIGHUP during the start";
    public const string FileTrigger = "file change";
    public const string RequestTrigger = "emailproxy reload";

    private readonly Channel<(string Trigger, TaskCompletionSource<ReloadOutcome>? Done)> _requests =
        Channel.CreateUnbounded<(string, TaskCompletionSource<ReloadOutcome>?)>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;
    private FileSystemWatcher? _watcher;
    private ITimer? _quiet;
    private string _lastRead = "";
    private HashSet<string> _warned = [];

    private string ConfigPath => Path.GetFullPath(live.Current.ConfigPath);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Once the listeners have had their first try: a reload never races the start.</summary>
    public Task StartedAsync(CancellationToken cancellationToken)
    {
        // What the start read, not what is there now: an edit made while the proxy started is a change to apply.
        _lastRead = live.Current.SourceHash ?? HashOfFile();
        // The start logged the warnings of what it read; a reload logs only the ones that are new.
        _warned = [.. live.Current.SourceWarnings];
        _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        _quiet = time.CreateTimer(_ => Request(FileTrigger, null), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        Watch();
        hangup.Attach(early => Request(early ? EarlySignalTrigger : SignalTrigger, null), log);
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

    /// <summary>
    /// Events first (SIGHUP is ignored from here, the watcher raises no more), then the debounce timer,
    /// cleared before it is disposed: a watcher event being handled meanwhile finds none, or a disposed one.
    /// </summary>
    private void StopWatching()
    {
        hangup.Detach();
        if (Interlocked.Exchange(ref _watcher, null) is { } watcher)
        {
            watcher.EnableRaisingEvents = false;
            watcher.Dispose();
        }
        Interlocked.Exchange(ref _quiet, null)?.Dispose();
    }

    /// <summary>A change seen in the file's folder (on the watcher's thread): the file is read once it has been quiet for <see cref="Debounce"/>. Internal for tests.</summary>
    internal void OnFileEvent(string? name, string watched)
    {
        if (!string.Equals(name, watched, StringComparison.Ordinal))
        {
            return;
        }
        try
        {
            Volatile.Read(ref _quiet)?.Change(Debounce, Timeout.InfiniteTimeSpan);
        }
        catch (ObjectDisposedException)
        {
            // The reloader stopped meanwhile.
        }
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
            FileSystemEventHandler changed = (_, e) => OnFileEvent(e.Name, name);
            _watcher.Changed += changed;
            _watcher.Created += changed;
            _watcher.Renamed += (_, e) => OnFileEvent(e.Name, name);
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
        // One read of the file: its bytes' hash tells whether it changed, and they are what is parsed.
        var read = ConfigReader.ReadFile(live.Current.ConfigPath);
        var content = read.ContentHash ?? "";
        if (trigger is FileTrigger or EarlySignalTrigger && content == _lastRead)
        {
            // Touched, or written back as it was: nothing to apply (and an invalid file is not warned about twice).
            if (trigger == EarlySignalTrigger)
            {
                LogEarlySignalUnchanged(log);
            }
            return new ReloadOutcome(true, "no changes");
        }
        _lastRead = content;
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
        // Before the tokens: a sign-in that completes meanwhile is refused, not saved under the old settings.
        foreach (var name in changes.OAuthChanged.Concat(changes.AccountsRemoved))
        {
            await signIns.EndSignInsOfAsync(name, cancellationToken);
        }
        foreach (var name in changes.OAuthChanged)
        {
            await tokens.ForgetAccessTokenAsync(next.Accounts[name], cancellationToken);
        }
        // Accounts made from templates keep being made; their keys follow the template, as a named account's follow its section.
        foreach (var name in running.Created.Names())
        {
            if (running.Accounts.ContainsKey(name) || running.FindAccount(name) is not { } before)
            {
                continue;
            }
            var after = next.FindAccount(name);
            if (after is not null && ConfigChanges.SameOAuth(before, after))
            {
                continue;
            }
            await signIns.EndSignInsOfAsync(name, cancellationToken);
            if (after is not null)
            {
                await tokens.ForgetAccessTokenAsync(after, cancellationToken);
            }
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

    /// <summary>The file's SHA-256 as <see cref="ConfigReader.ReadFile"/> gives it; empty when it cannot be read.</summary>
    private string HashOfFile()
    {
        try
        {
            using var stream = File.OpenRead(ConfigPath);
            return Convert.ToHexString(SHA256.HashData(stream));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
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

    [LoggerMessage(EventId = 16, EventName = "ConfigUnchangedAfterEarlySignal", Level = LogLevel.Information,
        Message = "A SIGHUP came while the proxy started; the configuration file has not changed since the start read it: nothing to reload")]
    private static partial void LogEarlySignalUnchanged(ILogger logger);

    [LoggerMessage(EventId = 15, EventName = "ConfigReloadWarning", Level = LogLevel.Warning, Message = "Configuration: {Warning}")]
    private static partial void LogConfigWarning(ILogger logger, string warning);
}
