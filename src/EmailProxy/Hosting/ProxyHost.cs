using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Diagnostics;
using EmailProxy.Graph;
using EmailProxy.Imap;
using EmailProxy.LocalTls;
using EmailProxy.OAuth2;
using EmailProxy.Pop3;
using EmailProxy.Providers;
using EmailProxy.Redis;
using EmailProxy.Smtp;
using EmailProxy.TokenStore;
using EmailProxy.Upstream;
using EmailProxy.Web;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Hosting;

/// <summary>
/// The composition root: one WebApplication whose Kestrel serves the HTTP port (a failure to bind it stops
/// the start), and one Kestrel per mail port under <see cref="MailListeners"/> (a taken port is retried).
/// </summary>
internal static partial class ProxyHost
{
    /// <summary>How many connects may wait to be accepted; a burst of hundreds must not stall (PROTOCOL-NOTES.md).</summary>
    public const int ListenBacklog = 1024;
    public static readonly TimeSpan ShutdownTimeout = TimeSpan.FromSeconds(10);

    /// <param name="hangup">SIGHUP's registration, taken before the start (<c>emailproxy run</c>); null: the host makes and disposes its own.</param>
    public static WebApplication Build(ProxyConfig config, MasterKey key, IReadOnlyList<ConfigProblem> warnings, HangupSignal? hangup = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ContentRootPath = config.ConfigDirectory,
            EnvironmentName = Environments.Production,
        });

        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = ShutdownTimeout);
        builder.Services.Configure<SocketTransportOptions>(o => o.Backlog = ListenBacklog);
        // The configuration at start, for the services that read only keys a reload cannot change (token_dir, tls_dir,
        // redirect_uri, the HTTP listener's); everything a reload changes is read from LiveConfig.Current at each use.
        var live = new LiveConfig(config);
        ProxyLogging.Configure(builder.Logging, config.General, () => live.Current.General.LogLevel);
        builder.Services.AddSingleton(config);
        builder.Services.AddSingleton(live);
        builder.Services.AddSingleton(key);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddMetrics();
        builder.Services.AddSingleton<ProxyMetrics>();
        builder.Services.AddSingleton<PrometheusExport>();
        builder.Services.AddSingleton(s => TokenFileStore.Open(
            config.TokenDirectory, key,
            s.GetRequiredService<TimeProvider>(), s.GetRequiredService<ILogger<TokenFileStore>>()));
        if (config.General.TokenStore == TokenStoreKind.Redis)
        {
            builder.Services.AddSingleton(s => new RedisConnection(
                config.General.Redis!, Environment.GetEnvironmentVariable(RedisConnection.PasswordVariable), s.GetRequiredService<ILogger<RedisConnection>>()));
            builder.Services.AddSingleton(s => new RedisTokenStore(s.GetRequiredService<RedisConnection>(), key,
                s.GetRequiredService<TimeProvider>(), s.GetRequiredService<ILogger<RedisTokenStore>>())
            {
                RefreshLease = RedisConnection.RefreshLeaseFromEnvironment() ?? RedisTokenStore.DefaultRefreshLease,
            });
            builder.Services.AddSingleton<ITokenStore>(s => s.GetRequiredService<RedisTokenStore>());
            builder.Services.AddHostedService<RedisTokenChanges>();
        }
        else
        {
            builder.Services.AddSingleton<ITokenStore>(s => s.GetRequiredService<TokenFileStore>());
        }
        // The token client lives as long as the proxy: its connections are renewed, so DNS changes are seen.
        builder.Services.AddHttpClient<OAuthClient>(c => c.Timeout = OAuthClient.RequestTimeout)
            .ConfigurePrimaryHttpMessageHandler(() => new System.Net.Http.SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        builder.Services.AddSingleton<TokenService>();
        builder.Services.AddSingleton<SignInManager>();
        if (config.General.TokenStore == TokenStoreKind.Redis)
        {
            // Sign-ins shared among the replicas: pending ones kept in Redis, their ends heard from the others (docs/scale-out.md).
            builder.Services.AddSingleton<RedisSignInStore>();
            builder.Services.AddHostedService<RedisSignInListener>();
        }
        var tokenDirectory = config.TokenDirectory;
        builder.Services.AddSingleton(new ControlToken(tokenDirectory));
        builder.Services.AddSingleton<ControlSignIns>();
        builder.Services.AddHostedService<TokenRefreshWorker>();
        builder.Services.AddSingleton(s => new IssuerDiscovery(s.GetRequiredService<IHttpClientFactory>().CreateClient(nameof(IssuerDiscovery)), s.GetRequiredService<TimeProvider>()));
        builder.Services.AddHostedService<IssuerDiscoveryWarmup>();
        builder.Services.AddSingleton(_ => PasswordVerifier.ForThisProcess());
        builder.Services.AddSingleton<LoginThrottle>();
        WebEndpoints.AddServices(builder.Services);
        builder.Services.AddSingleton<LoginService>();
        builder.Services.AddSingleton<UpstreamConnector>();
        builder.Services.AddSingleton<ImapUpstreamClient>();
        builder.Services.AddSingleton<SmtpUpstreamClient>();
        builder.Services.AddSingleton<Pop3UpstreamClient>();
        builder.Services.AddSingleton<ImapProtocol>();
        builder.Services.AddSingleton<SmtpProtocol>();
        builder.Services.AddSingleton<GraphHttp>();
        builder.Services.AddSingleton<GraphClient>();
        builder.Services.AddSingleton<GraphTokens>();
        builder.Services.AddSingleton(s => new GraphActivity(s.GetRequiredService<TimeProvider>(), () => live.Current.TokenDirectory));
        builder.Services.AddSingleton<GraphMetrics>();
        builder.Services.AddSingleton<GraphDelivery>();
        builder.Services.AddSingleton<GraphRoute>();
        builder.Services.AddSingleton<Pop3Protocol>();
        builder.Services.AddSingleton<LocalCertificateStore>();
        builder.Services.AddSingleton<LocalCertificateSelector>();
        builder.Services.AddSingleton<LocalTlsService>();
        builder.Services.AddSingleton<SessionEnvironment>();
        // One per-address limiter of log lines for the whole process: the mail sessions', the admin page's and the sign-in return's.
        builder.Services.AddSingleton(s => s.GetRequiredService<SessionEnvironment>().FailedLogins);

        // Each mail port on its own Kestrel, bound and retried by MailListeners: one taken port does not stop the proxy.
        // A reload rebinds the ones whose address or TLS mode changed (ConfigReloader).
        builder.Services.AddSingleton(s => new MailListeners(config.General, (kind, general) => kind switch
            {
                MailListenerKind.Imap => MailListenerOf<ImapProtocol>(s, general, kind),
                MailListenerKind.Smtp => MailListenerOf<SmtpProtocol>(s, general, kind),
                _ => MailListenerOf<Pop3Protocol>(s, general, kind),
            },
            s.GetRequiredService<TimeProvider>(), s.GetRequiredService<ILogger<MailListeners>>()));
        builder.Services.AddHostedService(s => s.GetRequiredService<MailListeners>());
        // After the listeners: a reload may rebind them. SIGHUP and the file's changes are taken once the proxy has started.
        if (hangup is null)
        {
            builder.Services.AddSingleton<HangupSignal>();
        }
        else
        {
            builder.Services.AddSingleton(hangup);
        }
        builder.Services.AddSingleton<ConfigReloader>();
        builder.Services.AddHostedService(s => s.GetRequiredService<ConfigReloader>());

        var listeners = new List<(string Name, ListenOptions Options)>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            ListenHttp(kestrel, WebListenAddress.Of(config.General), listen => listeners.Add(("HTTP", listen)));
        });

        var app = builder.Build();
        var tokens = app.Services.GetRequiredService<TokenService>();
        // The accounts templates made before: one for each token file a template matches.
        config.Created.Restore(config, StoredAccountNames(config, app.Services), app.Services.GetRequiredService<TimeProvider>().GetUtcNow());
        app.Services.GetRequiredService<ProxyMetrics>().ObserveAccounts(() => live.Current.AllAccounts.Where(account => account.TokenFrom is null), account => tokens.Peek(account.Name), app.Services.GetRequiredService<TimeProvider>());
        WebEndpoints.Map(app, live);
        // The certificate is made or loaded now: a problem stops the start, and the CA's path is logged.
        app.Services.GetRequiredService<LocalTlsService>().Prepare();

        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("EmailProxy");
        foreach (var warning in warnings)
        {
            LogConfigWarning(log, warning.ToString());
        }
        // Only once the HTTP port is bound (the mail ports may still be retrying): an instance that will fail to start must not touch the files of a running one.
        app.Lifetime.ApplicationStarted.Register(() => app.Services.GetRequiredService<TokenFileStore>()
            .RemoveStaleTemporaryFiles(Path.GetFullPath(config.General.SecretFile, config.ConfigDirectory)));
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var (name, options) in listeners)
            {
                var endPoint = options.EndPoint.ToString() ?? "?";
                LogListening(log, name, endPoint);
            }
            LogStarted(log, config.ConfigPath, key.Source, config.Accounts.Count);
            if (app.Services.GetRequiredService<PasswordVerifier>().TestGateFile is { } gate)
            {
                LogPasswordChecksGated(log, FileGatedKeyDerivation.Variable, gate);
            }
        });
        // Also only once the HTTP port is bound: the instance lock on the token folder, then control.token,
        // so that a second instance never replaces the token of the one that is running. Registered last,
        // so that it runs first (callbacks run in reverse order): once "started" is logged, control.token is there.
        var claim = new TokenFolderClaim(app.Services.GetRequiredService<ControlToken>(), tokenDirectory, app.Services.GetRequiredService<TimeProvider>(),
            app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TokenFolderClaim).FullName!),
            takenLate: app.Services.GetRequiredService<TokenService>().ReloadAll);
        app.Lifetime.ApplicationStarted.Register(claim.Take);
        app.Lifetime.ApplicationStopped.Register(claim.Dispose);
        return app;
    }

    /// <summary>How long the start waits for Redis to list the accounts templates made (it goes on without them after).</summary>
    private static readonly TimeSpan StoredAccountsTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The accounts the store holds tokens of (their readable names): the token files', or Redis's records. A Redis that
    /// cannot be reached at start is logged, and the accounts templates made are made again at their next login.
    /// </summary>
    private static IReadOnlyList<string> StoredAccountNames(ProxyConfig config, IServiceProvider services)
    {
        if (config.General.TokenStore != TokenStoreKind.Redis)
        {
            return TokenFileStore.StoredAccountNames(config.TokenDirectory);
        }
        if (config.Templates.Count == 0)
        {
            return [];
        }
        using var timeout = new CancellationTokenSource(StoredAccountsTimeout);
        try
        {
            return services.GetRequiredService<RedisTokenStore>().StoredAccountNamesAsync(timeout.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is TokenStoreUnavailableException or OperationCanceledException)
        {
            LogStoredAccountsUnread(services.GetRequiredService<ILoggerFactory>().CreateLogger("EmailProxy"), services.GetRequiredService<RedisConnection>().Description);
            return [];
        }
    }

    /// <summary>
    /// The mail listener of <typeparamref name="TProtocol"/> (the <paramref name="kind"/> of listener), or null when its
    /// <c>*_listen</c> is empty; its connections get the listener's local TLS mode (<see cref="GeneralOptions.TlsOf"/>),
    /// fixed while it is bound (a reload that changes it binds a new listener).
    /// </summary>
    private static MailListener? MailListenerOf<TProtocol>(IServiceProvider services, GeneralOptions general, MailListenerKind kind) where TProtocol : MailProtocol
    {
        var protocol = services.GetRequiredService<TProtocol>();
        if (protocol.ListenOf(general) is not { } endPoint)
        {
            return null;
        }
        return new MailListener(protocol.Name, endPoint, listen =>
            {
                listen.UseLocalTls(general.TlsOf(kind));
                listen.UseConnectionHandler<MailConnectionHandler<TProtocol>>();
            },
            services, services.GetRequiredService<IConnectionListenerFactory>(), services.GetRequiredService<ILoggerFactory>())
        {
            Kind = kind,
            Tls = general.TlsOf(kind),
        };
    }

    /// <summary>
    /// Binds the HTTP listener exactly where <see cref="WebListenAddress"/> says: never every interface unless web_listen names one;
    /// with the small request sizes of <see cref="ListenerLimits"/> (Kestrel's limits are server-wide, and only HTTP reads them).
    /// </summary>
    private static void ListenHttp(KestrelServerOptions kestrel, WebListenAddress web, Action<ListenOptions> record)
    {
        ListenerLimits.Apply(kestrel.Limits);
        Action<ListenOptions> configure = listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            record(listen);
        };
        if (web.Address is { } address)
        {
            kestrel.Listen(address, web.Port, configure);
        }
        else
        {
            kestrel.ListenLocalhost(web.Port, configure);
        }
    }

    [LoggerMessage(EventId = 1, EventName = "ProxyStarted", Level = LogLevel.Information,
        Message = "Email OAuth2 Proxy started with {ConfigPath} ({AccountCount} accounts; token key from {KeySource})")]
    private static partial void LogStarted(ILogger logger, string configPath, string keySource, int accountCount);

    [LoggerMessage(EventId = 2, EventName = "Listening", Level = LogLevel.Information, Message = "Listening for {Protocol} on {EndPoint}")]
    private static partial void LogListening(ILogger logger, string protocol, string endPoint);

    [LoggerMessage(EventId = 4, EventName = "PasswordChecksGated", Level = LogLevel.Warning,
        Message = "{Variable} is set (a test-only hook): every password check waits until {ReleaseFile} exists; unset it outside tests")]
    private static partial void LogPasswordChecksGated(ILogger logger, string variable, string releaseFile);

    [LoggerMessage(EventId = 7103, EventName = "RedisStoredAccountsUnread", Level = LogLevel.Warning,
        Message = "Redis at {EndPoints} could not list the accounts templates made at start; each is made again at its next login")]
    private static partial void LogStoredAccountsUnread(ILogger logger, string endPoints);

    [LoggerMessage(EventId = 3, EventName = "ConfigWarning", Level = LogLevel.Warning, Message = "Configuration: {Warning}")]
    private static partial void LogConfigWarning(ILogger logger, string warning);
}
