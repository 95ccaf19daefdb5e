using EmailProxy.Configuration;
using EmailProxy.Connections;
using EmailProxy.Redis;
using Microsoft.Extensions.Logging;

namespace EmailProxy.OAuth2;

/// <summary>
/// Sign-ins shared among replicas (<c>token_store = redis</c>, <see cref="RedisSignInStore"/>): a sign-in started on one
/// replica is kept in Redis, so that a login or the status page on another shows the same link or code (it joins a
/// "mirror" of it), the browser's redirect may land on any replica (which takes its state from Redis exactly once and
/// redeems the code with the stored verifier and redirect URI), and a device code is polled by the replica that asked for
/// it, or by another once that one's poll lease has run out. Whichever replica ends a sign-in removes it from Redis and
/// publishes the end (<see cref="RedisSignInMessage"/>); every other replica completes its own waiters with it
/// (<see cref="OnSharedEnd"/>) and reads the account's tokens from the store again.
/// </summary>
internal sealed partial class SignInManager
{
    /// <summary>
    /// How long a device code's poller holds its lease without renewing it (it renews before every poll): longer than
    /// the interval plus one token request, so that only a replica that is gone (or cut off from Redis) loses it.
    /// </summary>
    public static TimeSpan PollLease(TimeSpan interval) => interval + OAuthClient.RequestTimeout + TimeSpan.FromSeconds(5);

    /// <summary>The device codes of other replicas joined here, by this replica's copy, until they end: what a takeover polls with. Under the gate.</summary>
    private readonly Dictionary<PendingSignIn, RedisSignInRecord> _mirrored = [];

    /// <summary>
    /// The account's sign-in under way, as <see cref="Current"/>; with shared sign-ins, also one another replica started
    /// (joined here, so that the status page shows its device code; a device code nobody polls any more is polled from here).
    /// </summary>
    public async Task<PendingSignIn?> CurrentAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var local = Current(account);
        if (local is not null || shared is null)
        {
            return local is null ? null : await EnsurePolledAsync(local);
        }
        RedisSignInRecord? record;
        try
        {
            record = await shared.CurrentAsync(account.Name, cancellationToken);
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e))
        {
            // Not logged per account at every status read: the connection logs once that Redis is away, and once that it is back.
            return null;
        }
        return record is null ? null : await JoinAsync(account, record, null);
    }

    /// <summary>
    /// Hears that a shared sign-in ended on another replica: the account's tokens are read from the store again, and
    /// this replica's copy of the sign-in ends with the same outcome (its waiting logins hear it; a poll of it here stops).
    /// </summary>
    public void OnSharedEnd(RedisSignInMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (shared is null || string.Equals(message.Instance, shared.InstanceId, StringComparison.Ordinal))
        {
            return;
        }
        // First: whoever hears the outcome and asks for a token finds the new one.
        tokens.ForgetCached(message.Account);
        if (message.Succeeded && (live?.Current ?? config).ResolveAccount(message.Account, time.GetUtcNow()).Account is { Template: { } template } made)
        {
            // An account made from a template on the replica where it signed in is this replica's too (its status page lists it).
            config.Created.Keep(made.Name, template);
        }
        List<PendingSignIn> ended;
        lock (_gate)
        {
            ended = [.. _byAccount.Values.Concat(_byState.Values).Where(pending => pending.SharedId == message.Id).Distinct()];
            foreach (var pending in ended)
            {
                Forget(pending);
            }
        }
        foreach (var pending in ended)
        {
            LogSharedEnded(log, pending.Account.Name, message.Succeeded ? "signed in" : "ended without tokens");
            pending.Complete(new SignInCompletion(message.Succeeded, pending.Account, ClientText.Sanitize(message.Message, MaxFailureLength)));
            lock (_gate)
            {
                if (_polls.TryGetValue(pending, out var poll))
                {
                    poll.Cancel();
                }
            }
        }
    }

    /// <summary>
    /// <see cref="EndSignInsOf"/>, and with shared sign-ins also the account's sign-in under way on any replica: its record
    /// and state are removed from Redis (a redirect that lands on another replica finds nothing to redeem with settings it
    /// was not started with) and its end is published, so that every replica's waiting logins hear "settings changed, sign
    /// in again". Redis away: logged; the record then lives until it expires, as before.
    /// </summary>
    public async Task EndSignInsOfAsync(string accountName, CancellationToken cancellationToken)
    {
        EndSignInsOf(accountName);
        if (shared is null)
        {
            return;
        }
        try
        {
            if (await shared.CurrentAsync(accountName, cancellationToken) is not { } record)
            {
                return;
            }
            var message = new RedisSignInMessage(shared.InstanceId, record.Account, record.Id, false,
                ClientText.Sanitize(SettingsChangedText(record.Account), MaxFailureLength));
            await shared.EndAsync(message, cancellationToken, record.Method == SignInMethod.Browser ? record.State : null);
            LogSharedEndedByReload(log, accountName);
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e))
        {
            var reason = e.GetType().Name;
            LogSharedUnavailable(log, accountName, "be ended after the reload", shared.Description, reason);
        }
    }

    /// <summary>A browser sign-in with shared sign-ins: the account's one under way on any replica is joined, else this one is started for all.</summary>
    private async Task<PendingSignIn> StartOrJoinSharedAsync(AccountOptions account, SignInMethod? method, CancellationToken cancellationToken)
    {
        PendingSignIn? proposed = null;
        PendingSignIn? joined = null;
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (UnderWay(account, now) is { } existing && (method is null || existing.Method == method))
            {
                joined = existing;
            }
            else
            {
                proposed = Create(account, now);
            }
        }
        if (joined is not null || proposed is null)
        {
            return await EnsurePolledAsync(joined!);
        }
        RedisSignInRecord chosen;
        try
        {
            chosen = await shared!.StartOrJoinAsync(BrowserRecord(proposed), current => method is null || current.Method == method, null, cancellationToken);
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e))
        {
            var reason = e.GetType().Name;
            LogSharedUnavailable(log, account.Name, "start", shared!.Description, reason);
            return PendingSignIn.NotStarted(account, SignInMethod.Browser, Unavailable(account), time.GetUtcNow());
        }
        var own = chosen.Id == proposed.SharedId;
        var pending = await JoinAsync(account, chosen, own ? proposed : null);
        if (own && ReferenceEquals(pending, proposed))
        {
            LogSignInNeeded(log, account.Name, account.ProviderDisplayName, pending.AuthorizeUrl!.AbsoluteUri);
        }
        return pending;
    }

    /// <summary>
    /// A device code with shared sign-ins: one another replica got for the account is joined (and polled from here if
    /// nobody polls it); else the provider is asked for one (<see cref="StartDeviceCodeAsync"/>, which shares it).
    /// </summary>
    private async Task<PendingSignIn> StartSharedDeviceCodeAsync(AccountOptions account, SignInMethod? method, int generation)
    {
        RedisSignInRecord? record;
        try
        {
            record = await shared!.CurrentAsync(account.Name, _stopping.Token);
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e) || e is OperationCanceledException)
        {
            EndDeviceStart(account, generation);
            if (_stopping.IsCancellationRequested)
            {
                return PendingSignIn.NotStarted(account, SignInMethod.DeviceCode, Stopped(account), time.GetUtcNow(), OnCompleting);
            }
            var reason = e.GetType().Name;
            LogSharedUnavailable(log, account.Name, "start", shared!.Description, reason);
            return PendingSignIn.NotStarted(account, SignInMethod.DeviceCode, Unavailable(account), time.GetUtcNow());
        }
        if (record is null || (method is not null && record.Method != SignInMethod.DeviceCode))
        {
            return await StartDeviceCodeAsync(account, generation);
        }
        if (EndDeviceStart(account, generation))
        {
            LogSignInOfOldSettings(log, account.Name);
            return PendingSignIn.NotStarted(account, SignInMethod.DeviceCode, SettingsChanged(account), time.GetUtcNow(), OnCompleting);
        }
        return await JoinAsync(account, record, null);
    }

    /// <summary>The device code the provider just gave, shared: (null, its id) when it is the account's now; (the joined one, null) when another replica's came first.</summary>
    private async Task<(PendingSignIn? Joined, string? Id)> ShareDeviceCodeAsync(AccountOptions account, DeviceAuthorizationResult result)
    {
        var record = new RedisSignInRecord
        {
            Account = account.Name,
            Method = SignInMethod.DeviceCode,
            ExpiresAt = result.ExpiresAt,
            DeviceCode = result.DeviceCode,
            UserCode = ClientText.Sanitize(result.UserCode, 40),
            VerificationUri = result.VerificationUri!.AbsoluteUri,
            IntervalSeconds = (int)Math.Ceiling(result.Interval.TotalSeconds),
        };
        RedisSignInRecord chosen;
        try
        {
            // The poll lease is taken with it: no other replica starts polling it meanwhile.
            chosen = await shared!.StartOrJoinAsync(record, current => current.Method == SignInMethod.DeviceCode, PollLease(result.Interval), _stopping.Token);
        }
        catch (OperationCanceledException)
        {
            return (PendingSignIn.NotStarted(account, SignInMethod.DeviceCode, Stopped(account), time.GetUtcNow(), OnCompleting), null);
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e))
        {
            var reason = e.GetType().Name;
            LogSharedUnavailable(log, account.Name, "start", shared!.Description, reason);
            return (PendingSignIn.NotStarted(account, SignInMethod.DeviceCode, Unavailable(account), time.GetUtcNow()), null);
        }
        return chosen.Id == record.Id ? (null, record.Id) : (await JoinAsync(account, chosen, null), null);
    }

    /// <summary>
    /// Installs the shared sign-in <paramref name="record"/> here (<paramref name="own"/>: the one this replica just started),
    /// or returns the copy already installed. A device code newly joined is polled from here when nobody polls it.
    /// </summary>
    private async Task<PendingSignIn> JoinAsync(AccountOptions account, RedisSignInRecord record, PendingSignIn? own)
    {
        PendingSignIn pending;
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_byAccount.TryGetValue(account.Name, out var current) && current.SharedId == record.Id && !current.Completion.IsCompleted)
            {
                return current;
            }
            pending = own ?? MirrorOf(account, record);
            if (current is not null && (current.ExpiresAt <= now || current.Completion.IsCompleted))
            {
                Forget(current);
            }
            // One of another method under way here is left to end on its own, as when a sign-in replaces it locally.
            _byAccount[account.Name] = pending;
            if (pending.Method == SignInMethod.Browser)
            {
                _byState[pending.State] = pending;
            }
            else if (own is null)
            {
                _mirrored[pending] = record;
            }
        }
        if (own is null)
        {
            LogSharedJoined(log, account.Name);
        }
        return await EnsurePolledAsync(pending);
    }

    /// <summary>
    /// Returns <paramref name="pending"/>, having first started polling it from here if it is another replica's device
    /// code that nobody polls any more (its poll lease ran out: that replica stopped or died). Checked whenever a login
    /// or the status page comes to it, so that a code someone may be entering is always polled by one replica.
    /// </summary>
    private async Task<PendingSignIn> EnsurePolledAsync(PendingSignIn pending)
    {
        RedisSignInRecord? record;
        lock (_gate)
        {
            if (_polls.ContainsKey(pending) || !_mirrored.TryGetValue(pending, out record))
            {
                return pending;
            }
        }
        await TakeOverIfUnpolledAsync(pending, record);
        return pending;
    }

    /// <summary>Starts polling a device code from here when no replica holds its poll lease (the one that asked for it stopped or died).</summary>
    private async Task TakeOverIfUnpolledAsync(PendingSignIn pending, RedisSignInRecord record)
    {
        var interval = TimeSpan.FromSeconds(Math.Max(1, record.IntervalSeconds));
        try
        {
            if (!await shared!.TryTakePollAsync(record.Id, PollLease(interval), _stopping.Token))
            {
                return;
            }
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e) || e is OperationCanceledException)
        {
            return;
        }
        LogDevicePollTakenOver(log, pending.Account.Name);
        _ = PollAsync(pending, record.DeviceCode!, interval);
    }

    /// <summary>Renews this replica's poll lease before a poll; false when another replica polls the code now. Redis away: polling goes on.</summary>
    private async Task<bool> KeepPollingAsync(string id, TimeSpan interval, CancellationToken cancellationToken)
    {
        try
        {
            return await shared!.RenewPollAsync(id, PollLease(interval), cancellationToken);
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e))
        {
            var reason = e.GetType().Name;
            LogPollLeaseNotRenewed(log, reason);
            return true;
        }
    }

    /// <summary>
    /// Takes the browser sign-in of <paramref name="state"/> from Redis (once among all replicas): this replica's own copy,
    /// or a copy made from the record; (null, null) when it is unknown, expired or taken already (this replica's copy is
    /// then left to hear the end from the replica that took it).
    /// </summary>
    private async Task<(PendingSignIn? Pending, SignInCompletion? Unavailable)> TakeSharedAsync(string state)
    {
        RedisSignInRecord? record;
        try
        {
            record = await shared!.TakeAsync(state, _stopping.Token);
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e) || e is OperationCanceledException)
        {
            var reason = e.GetType().Name;
            LogSharedUnavailable(log, "(unknown until Redis answers)", "be completed", shared!.Description, reason);
            return (null, new SignInCompletion(false, null,
                $"This sign-in cannot be completed now: the proxy's shared store (Redis at {shared.Description}) cannot be reached. Reload this page in a moment (its code stays good for a few minutes)."));
        }
        PendingSignIn? local;
        if (record is null)
        {
            lock (_gate)
            {
                // Ended here by a reload (EndSignInsOfAsync removed its state from Redis): its redirect hears why.
                return _byState.TryGetValue(state, out local) && GenerationOf(local.Account.Name) != local.Generation ? (local, null) : (null, null);
            }
        }
        lock (_gate)
        {
            if (_byState.TryGetValue(state, out local))
            {
                Forget(local);
            }
        }
        if (local is not null)
        {
            return (local, null);
        }
        if ((live?.Current ?? config).ResolveAccount(record.Account, time.GetUtcNow()).Account is not { } account)
        {
            LogSharedAccountUnknown(log, record.Account);
            return (null, null);
        }
        lock (_gate)
        {
            return (MirrorOf(account, record), null);
        }
    }

    /// <summary>The account name of a browser sign-in another replica started with <paramref name="state"/>, left in place; or why it cannot be known.</summary>
    private async Task<(string? Account, SignInCompletion? Unavailable)> PeekSharedAsync(AccountOptions account, string state, CancellationToken cancellationToken)
    {
        try
        {
            return ((await shared!.PeekAsync(state, cancellationToken))?.Account, null);
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e))
        {
            var reason = e.GetType().Name;
            LogSharedUnavailable(log, account.Name, "be completed", shared!.Description, reason);
            return (null, Unavailable(account));
        }
    }

    /// <summary>A shared sign-in ended here: removed from Redis, and every replica told how.</summary>
    private async Task AnnounceAsync(PendingSignIn pending, SignInCompletion completion)
    {
        var message = new RedisSignInMessage(shared!.InstanceId, pending.Account.Name, pending.SharedId!, completion.Succeeded,
            ClientText.Sanitize(completion.Message, MaxFailureLength));
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        bounded.CancelAfter(OAuthClient.RequestTimeout);
        try
        {
            await shared.EndAsync(message, bounded.Token);
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e) || e is OperationCanceledException)
        {
            var reason = e.GetType().Name;
            LogNotAnnounced(log, pending.Account.Name, reason);
        }
    }

    /// <summary>The browser sign-in as Redis keeps it.</summary>
    private RedisSignInRecord BrowserRecord(PendingSignIn pending) => new()
    {
        Account = pending.Account.Name,
        Method = SignInMethod.Browser,
        ExpiresAt = pending.ExpiresAt,
        State = pending.State,
        CodeVerifier = pending.CodeVerifier,
        RedirectUri = pending.RedirectUri ?? RedirectUri,
        AuthorizeUrl = pending.AuthorizeUrl!.AbsoluteUri,
    };

    /// <summary>This replica's copy of a sign-in another replica started (called under the gate).</summary>
    private PendingSignIn MirrorOf(AccountOptions account, RedisSignInRecord record) => record.Method == SignInMethod.Browser
        ? new PendingSignIn(account, record.State!, record.CodeVerifier!, new Uri(record.AuthorizeUrl!), record.ExpiresAt)
        {
            Completing = OnCompleting,
            Generation = GenerationOf(account.Name),
            RedirectUri = record.RedirectUri,
            SharedId = record.Id,
        }
        : new PendingSignIn(account, new Uri(record.VerificationUri!), record.UserCode!, record.ExpiresAt)
        {
            Completing = OnCompleting,
            Generation = GenerationOf(account.Name),
            SharedId = record.Id,
        };

    /// <summary>Ends this caller's share of a device-code start (as <see cref="StartDeviceCodeAsync"/> does); true when a reload outdated it.</summary>
    private bool EndDeviceStart(AccountOptions account, int generation)
    {
        lock (_gate)
        {
            var outdated = GenerationOf(account.Name) != generation;
            if (!outdated)
            {
                _deviceStarts.Remove(account.Name);
            }
            return outdated;
        }
    }

    private SignInCompletion Unavailable(AccountOptions account) =>
        new(false, account, $"The sign-in of account {account.Name} cannot go on now: the proxy's shared store (Redis at {shared!.Description}) cannot be reached; try again in a moment");

    [LoggerMessage(EventId = 2020, EventName = "SharedSignInUnavailable", Level = LogLevel.Warning,
        Message = "The sign-in of account {Account} cannot {What} now: Redis at {Redis} cannot be used ({Reason})")]
    private static partial void LogSharedUnavailable(ILogger logger, string account, string what, string redis, string reason);

    [LoggerMessage(EventId = 2021, EventName = "SharedSignInJoined", Level = LogLevel.Debug,
        Message = "Account {Account} joins the sign-in under way that another replica started")]
    private static partial void LogSharedJoined(ILogger logger, string account);

    [LoggerMessage(EventId = 2022, EventName = "SharedSignInEnded", Level = LogLevel.Information,
        Message = "The sign-in of account {Account} ended on another replica: {Outcome}")]
    private static partial void LogSharedEnded(ILogger logger, string account, string outcome);

    [LoggerMessage(EventId = 2023, EventName = "DevicePollTakenOver", Level = LogLevel.Information,
        Message = "Account {Account}'s device code is polled from this replica now: the one that asked for it stopped polling")]
    private static partial void LogDevicePollTakenOver(ILogger logger, string account);

    [LoggerMessage(EventId = 2024, EventName = "DevicePollHandedOver", Level = LogLevel.Information,
        Message = "Another replica polls account {Account}'s device code now: this one stops")]
    private static partial void LogDevicePollHandedOver(ILogger logger, string account);

    [LoggerMessage(EventId = 2025, EventName = "SharedSignInNotAnnounced", Level = LogLevel.Warning,
        Message = "The end of account {Account}'s sign-in could not be told to the other replicas ({Reason}): logins waiting there time out, and their next login finds the tokens")]
    private static partial void LogNotAnnounced(ILogger logger, string account, string reason);

    [LoggerMessage(EventId = 2026, EventName = "SharedSignInAccountUnknown", Level = LogLevel.Warning,
        Message = "A sign-in another replica started is for account {Account}, which this replica's configuration does not have: every replica must be given the same configuration")]
    private static partial void LogSharedAccountUnknown(ILogger logger, string account);

    [LoggerMessage(EventId = 2028, EventName = "SharedSignInEndedByReload", Level = LogLevel.Information,
        Message = "The sign-in of account {Account} under way among the replicas is ended: a reload changed the account's OAuth settings; every replica is told")]
    private static partial void LogSharedEndedByReload(ILogger logger, string account);

    [LoggerMessage(EventId = 2027, EventName = "DevicePollLeaseNotRenewed", Level = LogLevel.Debug,
        Message = "The device code's poll lease could not be renewed ({Reason}); polling goes on")]
    private static partial void LogPollLeaseNotRenewed(ILogger logger, string reason);
}
