using EmailProxy.Configuration;
using EmailProxy.Hosting;
using EmailProxy.LocalTls;
using EmailProxy.OAuth2;
using EmailProxy.Tests.OAuth2;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.Hosting;

/// <summary><see cref="ConfigReloader"/> on a real file: what it compares a change with, what it ends, SIGHUP while the proxy starts, its stop.</summary>
public sealed class ConfigReloaderTests : IAsyncDisposable
{
    private const string SettingsChanged = "the account's settings changed; sign in again";

    private readonly OAuth2Fixture _fx = new();
    private readonly RecordingLoggerProvider _log = new();
    private readonly TokenService _tokens;
    private readonly HangupSignal _hangup = new();
    private readonly List<IAsyncDisposable> _owned = [];
    private SignInManager? _signIns;
    private LiveConfig? _live;

    public ConfigReloaderTests() => _tokens = _fx.NewService();

    private string ConfigPath => _fx.Temp.Combine("emailproxy.config");

    private SignInManager SignIns => _signIns!;

    private LiveConfig Live => _live!;

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }
        _signIns?.Dispose();
        _hangup.Dispose();
        _log.Dispose();
        _fx.Dispose();
    }

    private static string Config(string clientId, string account = "a@example.com") => $"""
        [server s]
        imap_host = imap.example.com

        [account {account}]
        client_id = {clientId}
        server = s

        """;

    /// <summary>Writes the file as an editor does: a new file renamed over the old one.</summary>
    private void Write(string text)
    {
        File.WriteAllText(ConfigPath + ".new", text);
        File.Move(ConfigPath + ".new", ConfigPath, overwrite: true);
    }

    /// <summary>Reads the file as the start does and makes the reloader over what it read (not started).</summary>
    private ConfigReloader Create(TimeProvider? time = null)
    {
        var read = ConfigReader.ReadFile(ConfigPath);
        Assert.True(read.IsValid, string.Join("; ", read.Errors));
        var start = read.Config!;
        _live = new LiveConfig(start);
        var listeners = new MailListeners([], _fx.Time, NullLogger<MailListeners>.Instance);
        _owned.Add(listeners);
        _signIns = new SignInManager(start, _fx.Client, _tokens, _fx.Time, NullLogger<SignInManager>.Instance);
        var store = new LocalCertificateStore(start, _fx.Time, NullLogger<LocalCertificateStore>.Instance);
        var localTls = new LocalTlsService(start, new LocalCertificateSelector(store, NullLogger<LocalCertificateSelector>.Instance), _fx.Time, NullLogger<LocalTlsService>.Instance);
        var reloader = new ConfigReloader(_live, listeners, _tokens, _signIns, localTls, _hangup, time ?? _fx.Time, _log.CreateLogger<ConfigReloader>());
        _owned.Add(new Stopping(reloader));
        return reloader;
    }

    [Fact]
    public async Task StartedAsync_FileEditedWhileTheProxyStarted_TheEditIsAChangeToApply()
    {
        Write(Config("before-id"));
        var reloader = Create();
        Write(Config("after-id"));

        await reloader.StartedAsync(CancellationToken.None).Guarded();
        var outcome = await reloader.ReloadOnceAsync(ConfigReloader.FileTrigger, CancellationToken.None).Guarded();

        Assert.True(outcome.Applied, outcome.Text);
        Assert.NotEqual("no changes", outcome.Text);
        Assert.Equal("after-id", Live.Current.Accounts["a@example.com"].ClientId);
    }

    /// <summary>The start logged the warnings of the file it read; an edit made meanwhile brings its own, which the reload logs.</summary>
    [Fact]
    public async Task StartedAsync_FileEditedWithANewWarningWhileTheProxyStarted_TheReloadLogsIt()
    {
        Write(Config("before-id"));
        var reloader = Create();
        Write(Config("after-id").Replace("server = s", "server = s\nscope = https://graph.microsoft.com/.default", StringComparison.Ordinal));

        await reloader.StartedAsync(CancellationToken.None).Guarded();
        var outcome = await reloader.ReloadOnceAsync(ConfigReloader.FileTrigger, CancellationToken.None).Guarded();

        Assert.True(outcome.Applied, outcome.Text);
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("graph.microsoft.com", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReloadOnceAsync_FileAsTheStartReadIt_NoChanges()
    {
        Write(Config("before-id"));
        var reloader = Create();
        await reloader.StartedAsync(CancellationToken.None).Guarded();
        var started = Live.Current;

        var outcome = await reloader.ReloadOnceAsync(ConfigReloader.FileTrigger, CancellationToken.None).Guarded();

        Assert.Equal("no changes", outcome.Text);
        Assert.Same(started, Live.Current);
    }

    [Theory]
    [InlineData("after-id", "a@example.com")]
    [InlineData("before-id", "b@example.com")]
    public async Task ReloadOnceAsync_AccountsOAuthSettingsChangedOrAccountRemoved_EndsItsSignInUnderWay(string clientId, string account)
    {
        Write(Config("before-id"));
        var reloader = Create();
        await reloader.StartedAsync(CancellationToken.None).Guarded();
        var old = SignIns.StartOrJoin(Live.Current.Accounts["a@example.com"]);

        Write(Config(clientId, account));
        var outcome = await reloader.ReloadOnceAsync(ConfigReloader.SignalTrigger, CancellationToken.None).Guarded();

        Assert.True(outcome.Applied, outcome.Text);
        Assert.Contains(SettingsChanged, (await old.Completion.Guarded()).Message, StringComparison.Ordinal);
        if (Live.Current.FindAccount("a@example.com") is { } changed)
        {
            var next = SignIns.StartOrJoin(changed);
            Assert.NotSame(old, next);
            Assert.Equal("after-id", QueryHelpers.ParseQuery(next.AuthorizeUrl!.Query)["client_id"].ToString());
        }
    }

    [Fact]
    public async Task StartedAsync_SighupWhileTheProxyStartedAndFileChanged_ReloadsOnceAfterTheStart()
    {
        Write(Config("before-id"));
        var reloader = Create();
        _hangup.Raise();
        _hangup.Raise();
        Write(Config("after-id"));

        await reloader.StartedAsync(CancellationToken.None).Guarded();
        // Queued after the SIGHUP's: by its end that one has run.
        await reloader.ReloadAsync(ConfigReloader.FileTrigger, CancellationToken.None).Guarded();

        Assert.Equal("after-id", Live.Current.Accounts["a@example.com"].ClientId);
        Assert.Single(_log.Entries, e => e.EventId.Id == 11 && e.Message.Contains(ConfigReloader.EarlySignalTrigger, StringComparison.Ordinal));
    }

    [Fact]
    public async Task StartedAsync_SighupWhileTheProxyStartedFileUnchanged_OnlyLogged()
    {
        Write(Config("before-id"));
        var reloader = Create();
        var started = Live.Current;
        _hangup.Raise();

        await reloader.StartedAsync(CancellationToken.None).Guarded();
        await reloader.ReloadAsync(ConfigReloader.FileTrigger, CancellationToken.None).Guarded();

        Assert.Same(started, Live.Current);
        Assert.Single(_log.Entries, e => e.EventId.Id == 16);
        Assert.DoesNotContain(_log.Entries, e => e.EventId.Id == 11);
    }

    [Fact]
    public async Task Raise_AfterTheReloaderStopped_Ignored()
    {
        Write(Config("before-id"));
        var reloader = Create();
        await reloader.StartedAsync(CancellationToken.None).Guarded();
        await reloader.StopAsync(CancellationToken.None).Guarded();

        _hangup.Raise();

        Assert.Equal(new ReloadOutcome(false, "the proxy is stopping"), await reloader.ReloadAsync(ConfigReloader.RequestTrigger, CancellationToken.None).Guarded());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OnFileEvent_AfterTheReloaderStopped_DoesNotThrow(bool systemClock)
    {
        Write(Config("before-id"));
        var reloader = Create(systemClock ? TimeProvider.System : null);
        await reloader.StartedAsync(CancellationToken.None).Guarded();
        await reloader.StopAsync(CancellationToken.None).Guarded();

        var name = Path.GetFileName(ConfigPath);
        var error = Record.Exception(() => reloader.OnFileEvent(name, name));

        Assert.Null(error);
    }

    /// <summary>Stops a reloader at the end of a test, as the host does.</summary>
    private sealed class Stopping(ConfigReloader reloader) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            await reloader.StopAsync(CancellationToken.None);
            reloader.Dispose();
        }
    }
}
