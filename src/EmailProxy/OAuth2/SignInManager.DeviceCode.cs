using EmailProxy.Configuration;
using EmailProxy.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.OAuth2;

/// <summary>
/// Device code sign-ins (RFC 8628): one device authorization per account, asked for once however
/// many logins (and the CLI) want it at once, then the token endpoint polled at the provider's
/// interval on the proxy's clock until the person has entered the code, declined, or the code expired.
/// The device_code is a secret (whoever has it gets the tokens): it is kept only by the poll and
/// never logged; the user code and the verification URL are meant for people and are shown.
/// </summary>
internal sealed partial class SignInManager
{
    /// <summary>How often, at most, the log says a device code is still waiting (never once per poll).</summary>
    public static readonly TimeSpan ProgressInterval = TimeSpan.FromMinutes(1);

    /// <summary>What RFC 8628 section 3.5 adds to the interval on each <c>slow_down</c>.</summary>
    public static readonly TimeSpan SlowDownStep = TimeSpan.FromSeconds(5);

    private readonly Dictionary<string, Task<PendingSignIn>> _deviceStarts = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Each device code being polled, with what stops its polling alone (<see cref="EndSignInsOf"/>); under the gate.</summary>
    private readonly Dictionary<PendingSignIn, CancellationTokenSource> _polls = [];

    /// <summary>
    /// Starts a sign-in for the account, or joins the one under way, and returns it once the person can
    /// be told what to do: for a device code, once the provider has given it. <paramref name="method"/>
    /// defaults to the account's flow (<see cref="DefaultMethod"/>); with none, any sign-in under way is
    /// joined. When the provider gives no device code (unreachable, or an AADSTS refusal) the returned
    /// sign-in has already ended: its <see cref="PendingSignIn.Completion"/> holds the one-line reason
    /// and <see cref="PendingSignIn.UserCode"/> is null. <paramref name="cancellationToken"/> only stops
    /// this caller's wait: the request, which others may share, goes on.
    /// </summary>
    public Task<PendingSignIn> StartOrJoinAsync(AccountOptions account, SignInMethod? method = null, CancellationToken cancellationToken = default)
    {
        if ((method ?? DefaultMethod(account)) == SignInMethod.Browser)
        {
            return account.AuthorizeUrl is null && account.Discovery is not null
                ? StartDiscoveredAsync(account, method, cancellationToken)
                : shared is null ? Task.FromResult(StartOrJoin(account, method)) : StartOrJoinSharedAsync(account, method, cancellationToken);
        }
        Task<PendingSignIn>? start;
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (UnderWay(account, now) is { } existing && (method is null || existing.Method == SignInMethod.DeviceCode))
            {
                return shared is null ? Task.FromResult(existing) : EnsurePolledAsync(existing);
            }
            if (_disposed)
            {
                return Task.FromResult(PendingSignIn.NotStarted(account, SignInMethod.DeviceCode, Stopped(account), now));
            }
            if (!_deviceStarts.TryGetValue(account.Name, out start))
            {
                // Off the gate and off the caller's thread: the request is awaited by everyone who joins.
                var generation = GenerationOf(account.Name);
                start = Task.Run(() => shared is null ? StartDeviceCodeAsync(account, generation) : StartSharedDeviceCodeAsync(account, method, generation), CancellationToken.None);
                _deviceStarts[account.Name] = start;
            }
        }
        return start.WaitAsync(cancellationToken);
    }

    /// <summary>
    /// A browser sign-in of an <c>issuer</c> account whose authorize endpoint is not known yet: its discovery document
    /// is read first; when it cannot be, the sign-in ends at once with the reason (and is the account's last failure).
    /// </summary>
    private async Task<PendingSignIn> StartDiscoveredAsync(AccountOptions account, SignInMethod? method, CancellationToken cancellationToken)
    {
        var problem = await client.EnsureDiscoveredAsync(account, cancellationToken);
        if (account.AuthorizeUrl is not null)
        {
            return shared is null ? StartOrJoin(account, method) : await StartOrJoinSharedAsync(account, method, cancellationToken);
        }
        var text = problem ?? $"the discovery document of {account.Issuer?.OriginalString} names no authorization_endpoint: set authorize_url";
        return PendingSignIn.NotStarted(account, SignInMethod.Browser,
            new SignInCompletion(false, account, $"Account {account.Name} cannot sign in in a browser: {text}"), time.GetUtcNow(), OnCompleting);
    }

    /// <param name="generation">The account's settings generation when it was asked for: a reload since then refuses the code.</param>
    private async Task<PendingSignIn> StartDeviceCodeAsync(AccountOptions account, int generation)
    {
        DeviceAuthorizationResult result;
        try
        {
            result = await client.RequestDeviceAuthorizationAsync(account, SignInIdentity.ScopeFor(account, withGraph: false), _stopping.Token);
        }
        catch (OperationCanceledException)
        {
            result = new DeviceAuthorizationResult { Error = "stopped" };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Never a faulted start that every later login would join: an ended sign-in that says why.
            result = new DeviceAuthorizationResult { Error = "the device code request failed", ErrorDescription = e.Message };
        }
        bool outdated;
        lock (_gate)
        {
            // Once outdated, the entry is a newer start's (or none): it is left to it.
            outdated = GenerationOf(account.Name) != generation;
            if (!outdated)
            {
                _deviceStarts.Remove(account.Name);
            }
        }
        if (outdated)
        {
            LogSignInOfOldSettings(log, account.Name);
            return PendingSignIn.NotStarted(account, SignInMethod.DeviceCode, SettingsChanged(account), time.GetUtcNow(), OnCompleting);
        }
        if (result.IsError)
        {
            SignInCompletion refused;
            if (result.Error == "stopped")
            {
                refused = Stopped(account);
            }
            else
            {
                var text = ClientText.Sanitize(result.ErrorText, 500);
                LogDeviceCodeRefused(log, account.Name, account.ProviderDisplayName, text);
                refused = new SignInCompletion(false, account,
                    $"{account.ProviderDisplayName} gave no device code for account {account.Name}: {text}{HintFor(result.ErrorText)}");
            }
            return PendingSignIn.NotStarted(account, SignInMethod.DeviceCode, refused, time.GetUtcNow(), OnCompleting);
        }

        string? sharedId = null;
        if (shared is not null)
        {
            // Kept in Redis for the other replicas, unless one of them was given a code first: then that one is joined.
            var (joined, id) = await ShareDeviceCodeAsync(account, result);
            if (joined is not null)
            {
                return joined;
            }
            sharedId = id;
        }
        var pending = new PendingSignIn(account, result.VerificationUri!, ClientText.Sanitize(result.UserCode, 40), result.ExpiresAt)
        {
            Completing = OnCompleting,
            Generation = generation,
            SharedId = sharedId,
        };
        lock (_gate)
        {
            // Checked again where it is installed: a reload that came since must not find it joinable.
            outdated = GenerationOf(account.Name) != generation;
            if (!outdated)
            {
                if (_byAccount.TryGetValue(account.Name, out var old) && old.Method == SignInMethod.Browser && (old.ExpiresAt <= time.GetUtcNow() || old.Completion.IsCompleted))
                {
                    Forget(old);
                }
                _byAccount[account.Name] = pending;
            }
        }
        if (outdated)
        {
            LogSignInOfOldSettings(log, account.Name);
            pending.Complete(SettingsChanged(account));
            return pending;
        }
        var lifetime = Duration(pending.ExpiresAt - time.GetUtcNow());
        LogDeviceCodeNeeded(log, account.Name, account.ProviderDisplayName, pending.VerificationUri!.AbsoluteUri, pending.UserCode!, lifetime);
        _ = PollAsync(pending, result.DeviceCode!, result.Interval);
        return pending;
    }

    /// <summary>
    /// Polls until the sign-in ends; never throws (every end completes <paramref name="pending"/>).
    /// Waits before each poll (RFC 8628: at least the interval between requests), never past the
    /// code's expiry, which ends it without another request.
    /// </summary>
    private async Task PollAsync(PendingSignIn pending, string deviceCode, TimeSpan interval)
    {
        var account = pending.Account;
        var stopping = _stopping.Token;
        using var poll = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var ended = poll.Token;
        var started = time.GetUtcNow();
        var lastProgress = started;
        // How it ended here (shared sign-ins tell the other replicas), and whether another replica took the polling over.
        SignInCompletion? endedHere = null;
        var handedOver = false;
        lock (_gate)
        {
            _polls[pending] = poll;
            if (GenerationOf(account.Name) != pending.Generation)
            {
                // A reload ended it between its start and here.
                poll.Cancel();
            }
        }
        try
        {
            while (true)
            {
                var left = pending.ExpiresAt - time.GetUtcNow();
                if (left > TimeSpan.Zero)
                {
                    await Task.Delay(interval < left ? interval : left, time, ended);
                    left = pending.ExpiresAt - time.GetUtcNow();
                }
                if (left <= TimeSpan.Zero)
                {
                    endedHere = End(pending, $"the device code expired before it was entered (it lived {Duration(pending.ExpiresAt - started)})");
                    return;
                }
                if (pending.SharedId is { } id && !await KeepPollingAsync(id, interval, ended))
                {
                    handedOver = true;
                    LogDevicePollHandedOver(log, account.Name);
                    return;
                }
                var result = await client.RequestDeviceTokenAsync(account, deviceCode, ended);
                if (!result.IsError)
                {
                    endedHere = await FinishAsync(pending, result);
                    return;
                }
                switch (result.Transient ? "temporarily_unavailable" : result.Code)
                {
                    case "authorization_pending":
                        break;
                    case "temporarily_unavailable":
                        // No answer, a 5xx, or the provider's own "try later": the code is still good until it expires.
                        LogDevicePollTransient(log, account.Name, result.ErrorText);
                        break;
                    case "slow_down":
                        interval += SlowDownStep;
                        LogDeviceCodeSlowDown(log, account.Name, (int)interval.TotalSeconds);
                        break;
                    case "authorization_declined" or "access_denied":
                        endedHere = End(pending, $"the person declined the sign-in at {account.ProviderDisplayName} ({Described(result)})");
                        return;
                    case "expired_token":
                        endedHere = End(pending, $"the device code expired before it was entered ({Described(result)})");
                        return;
                    case "bad_verification_code":
                        endedHere = End(pending, $"{account.ProviderDisplayName} did not accept the device code ({Described(result)})");
                        return;
                    default:
                        endedHere = End(pending, $"the token endpoint refused the device code: {Described(result)}{HintFor(result.ErrorText)}");
                        return;
                }
                var now = time.GetUtcNow();
                if (now - lastProgress >= ProgressInterval)
                {
                    lastProgress = now;
                    var remaining = Clock(pending.ExpiresAt - now);
                    LogDeviceCodeWaiting(log, account.Name, remaining);
                }
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            pending.Complete(Stopped(account));
        }
        catch (OperationCanceledException) when (ended.IsCancellationRequested)
        {
            // Ended by a reload (EndSignInsOf), which has completed it already unless the reload came before it was installed.
            pending.Complete(SettingsChanged(account));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogDevicePollFailed(log, e, account.Name);
            endedHere = End(pending, "the polling failed unexpectedly (see the proxy's log)");
        }
        finally
        {
            lock (_gate)
            {
                _polls.Remove(pending);
            }
            if (!handedOver)
            {
                // Whatever happened, nobody waits forever (a no-op once completed).
                pending.Complete(new SignInCompletion(false, account, $"The device code sign-in of account {account.Name} ended without tokens; the next login starts a new code"));
            }
            if (pending.SharedId is not null && endedHere is not null)
            {
                // Ended here: every replica hears it. Stopped or outdated here, it is left for another replica to poll.
                await AnnounceAsync(pending, endedHere);
            }
        }
    }

    /// <summary>Ends a device-code sign-in that got no tokens: logged, and told to everyone waiting (and to the next login).</summary>
    private SignInCompletion End(PendingSignIn pending, string what)
    {
        var account = pending.Account;
        var message = $"The device code sign-in of account {account.Name} ended: {what}; the next login starts a new code";
        LogSignInFailed(log, account.Name, message);
        var completion = new SignInCompletion(false, account, message);
        pending.Complete(completion);
        return completion;
    }

    private static SignInCompletion Stopped(AccountOptions account) =>
        new(false, account, $"The device code sign-in of account {account.Name} ended: the proxy stopped; the next login starts a new code");

    private static string Described(TokenEndpointResult result) => ClientText.Sanitize(result.ErrorText, 300);

    /// <summary>The fix for the refusals a device-code sign-in meets in Microsoft Entra.</summary>
    private static string HintFor(string errorText) =>
        errorText.Contains("AADSTS7000218", StringComparison.Ordinal) || errorText.Contains("AADSTS70002:", StringComparison.Ordinal)
            ? " (in Microsoft Entra, the app registration's Authentication page: set 'Allow public client flows' to Yes)"
            : "";

    /// <summary>"15 minutes", "90 seconds": how long a code lives, for people.</summary>
    private static string Duration(TimeSpan span) =>
        span >= TimeSpan.FromMinutes(2) ? $"{Math.Round(span.TotalMinutes):0} minutes" : $"{Math.Max(0, Math.Round(span.TotalSeconds)):0} seconds";

    /// <summary>"12:30": minutes and seconds left.</summary>
    private static string Clock(TimeSpan span) =>
        span <= TimeSpan.Zero ? "0:00" : $"{(int)span.TotalMinutes}:{span.Seconds:00}";

    [LoggerMessage(EventId = 2011, EventName = "DeviceCodeSignInNeeded", Level = LogLevel.Information,
        Message = "OAuth2 sign-in needed for account {Account} with {Provider}: open {VerificationUri} and enter {UserCode} (expires in {ExpiresIn})")]
    private static partial void LogDeviceCodeNeeded(ILogger logger, string account, string provider, string verificationUri, string userCode, string expiresIn);

    [LoggerMessage(EventId = 2012, EventName = "DeviceCodeWaiting", Level = LogLevel.Information,
        Message = "Still waiting for account {Account}'s device code: {Left} left")]
    private static partial void LogDeviceCodeWaiting(ILogger logger, string account, string left);

    [LoggerMessage(EventId = 2013, EventName = "DeviceCodeRefused", Level = LogLevel.Warning,
        Message = "OAuth2 sign-in of account {Account}: {Provider} gave no device code: {Error}")]
    private static partial void LogDeviceCodeRefused(ILogger logger, string account, string provider, string error);

    [LoggerMessage(EventId = 2014, EventName = "DeviceCodeSlowDown", Level = LogLevel.Debug,
        Message = "The token endpoint asked to poll account {Account}'s device code more slowly: every {Seconds} s from now on")]
    private static partial void LogDeviceCodeSlowDown(ILogger logger, string account, int seconds);

    [LoggerMessage(EventId = 2015, EventName = "DevicePollFailed", Level = LogLevel.Error,
        Message = "The device code polling of account {Account} failed unexpectedly; the next login starts a new code")]
    private static partial void LogDevicePollFailed(ILogger logger, Exception exception, string account);

    /// <summary>Debug: it may come at every poll while the provider is down; the once-a-minute progress line goes on meanwhile.</summary>
    [LoggerMessage(EventId = 2016, EventName = "DevicePollTransient", Level = LogLevel.Debug,
        Message = "A poll of account {Account}'s device code failed for a passing reason ({Error}); polling goes on until the code expires")]
    private static partial void LogDevicePollTransient(ILogger logger, string account, string error);
}
