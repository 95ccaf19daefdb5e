using EmailProxy.OAuth2;
using EmailProxy.Redis;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Accounts;

/// <summary>
/// The generated passwords (<see cref="GeneratedPassword"/>) of template accounts whose sign-in ended where nobody
/// could be shown them: a device code entered on another device for a sign-in a mail client's login started, or the
/// status page's "Show device code". Held by account until someone takes one: the status page's "Show the password"
/// button (behind admin_password where it is set) shows it once, and a sign-in that ends while one still waits makes a
/// new password instead (nobody knows the old one), which <c>emailproxy auth</c> prints. The same object the sign-in's
/// completion carries: taken on any path, it is gone on every other.
/// </summary>
/// <remarks>
/// Without Redis they are held in this process's memory. With <c>token_store = redis</c> (<paramref name="shared"/>) they are
/// kept in Redis too (<see cref="RedisSignInStore.PasswordKey"/>, sealed under the master key, for <see cref="SharedLife"/>), so
/// that the status page of every replica offers the button and exactly one of them shows it (GETDEL). While Redis cannot be
/// reached a password kept there is not shown (<see cref="TakeResult.Unavailable"/>: try again), and nothing is lost; one that
/// could not be written there is shown by this replica only.
/// </remarks>
internal sealed partial class UnshownPasswords(RedisSignInStore? shared = null, ILogger? log = null)
{
    private readonly ILogger _log = log ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>How long Redis keeps a password nobody took: long enough for someone to come to a status page, not for ever.</summary>
    public static readonly TimeSpan SharedLife = TimeSpan.FromHours(24);

    private readonly Lock _gate = new();
    private readonly Dictionary<string, Held> _byAccount = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>What taking a password gave: the password, or null; <see cref="Unavailable"/> when Redis could not be asked (nothing was taken).</summary>
    public readonly record struct TakeResult(string? Password, bool Unavailable);

    /// <summary>A password held here; <see cref="Sealed"/> is what Redis keeps of it (null: only here).</summary>
    private sealed record Held(GeneratedPassword Password, string? Sealed);

    /// <summary>Where Redis is, for texts (null without it).</summary>
    public string? SharedDescription => shared?.Description;

    /// <summary>
    /// Keeps the password of the account's sign-in that just ended; one held before is dropped (a newer one replaced it),
    /// atomically: of two sign-ins ending at once, the one held last is the one kept, and the other is dropped.
    /// </summary>
    public async Task HoldAsync(string accountName, GeneratedPassword password, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(password);
        string? sealedPassword = null;
        if (shared is not null && password.Peek() is { } value)
        {
            try
            {
                sealedPassword = await shared.HoldPasswordAsync(accountName, value, SharedLife, cancellationToken);
            }
            catch (Exception e) when (RedisSignInStore.IsUnavailable(e) || e is OperationCanceledException)
            {
                var reason = e.GetType().Name;
                LogNotShared(_log, accountName, reason);
            }
        }
        Held? replaced;
        lock (_gate)
        {
            _byAccount.TryGetValue(accountName, out replaced);
            _byAccount[accountName] = new Held(password, sealedPassword);
        }
        if (replaced is not null && !ReferenceEquals(replaced.Password, password))
        {
            replaced.Password.Take();
        }
        if (sealedPassword is not null)
        {
            // Shown through the sign-in's own end (its page, emailproxy auth): the copy in Redis goes too.
            password.OnTaken(() => _ = ForgetSharedAsync(accountName, sealedPassword));
        }
    }

    /// <summary>Whether the account has a password that nobody has been shown yet (on any replica, with Redis).</summary>
    public async Task<bool> IsWaitingAsync(string accountName, CancellationToken cancellationToken)
    {
        Held? held;
        lock (_gate)
        {
            held = _byAccount.GetValueOrDefault(accountName);
        }
        var waitingHere = held is not null && !held.Password.Taken;
        if (shared is null || (waitingHere && held!.Sealed is null))
        {
            return waitingHere;
        }
        try
        {
            return await shared.IsPasswordWaitingAsync(accountName, cancellationToken);
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e) || e is OperationCanceledException)
        {
            // The button is offered as far as this replica knows; pressing it says to try again.
            return waitingHere;
        }
    }

    /// <summary>The account's password not shown yet, this once; null when there is none (never made, shown already, or replaced).</summary>
    public async Task<TakeResult> TakeAsync(string accountName, CancellationToken cancellationToken)
    {
        Held? held;
        lock (_gate)
        {
            held = _byAccount.GetValueOrDefault(accountName);
            if (held is not null && (shared is null || held.Sealed is null))
            {
                _byAccount.Remove(accountName);
                return new TakeResult(held.Password.Take(), false);
            }
        }
        if (shared is null)
        {
            return new TakeResult(null, false);
        }
        string? password;
        try
        {
            password = await shared.TakePasswordAsync(accountName, cancellationToken);
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e))
        {
            var reason = e.GetType().Name;
            LogNotTaken(_log, accountName, reason);
            return new TakeResult(null, true);
        }
        lock (_gate)
        {
            if (held is not null && _byAccount.TryGetValue(accountName, out var current) && current == held)
            {
                _byAccount.Remove(accountName);
            }
        }
        // Shown from Redis: this replica's copy is spent too, so that no other path shows it again.
        held?.Password.Take();
        return new TakeResult(password, false);
    }

    private async Task ForgetSharedAsync(string accountName, string sealedPassword)
    {
        using var bounded = new CancellationTokenSource(OAuthClient.RequestTimeout);
        try
        {
            await shared!.ForgetPasswordAsync(accountName, sealedPassword, bounded.Token);
        }
        catch (Exception e) when (RedisSignInStore.IsUnavailable(e) || e is OperationCanceledException)
        {
            var reason = e.GetType().Name;
            LogNotForgotten(_log, accountName, reason, (int)SharedLife.TotalHours);
        }
    }

    public override string ToString()
    {
        lock (_gate)
        {
            return $"UnshownPasswords {{ Count = {_byAccount.Count} }}";
        }
    }

    [LoggerMessage(EventId = 2030, EventName = "UnshownPasswordNotShared", Level = LogLevel.Warning,
        Message = "The generated password of account {Account} could not be kept in Redis ({Reason}): only this replica's status page can show it")]
    private static partial void LogNotShared(ILogger logger, string account, string reason);

    [LoggerMessage(EventId = 2031, EventName = "UnshownPasswordNotTaken", Level = LogLevel.Warning,
        Message = "The generated password of account {Account} cannot be fetched from Redis now ({Reason}); it stays there: try again")]
    private static partial void LogNotTaken(ILogger logger, string account, string reason);

    [LoggerMessage(EventId = 2032, EventName = "UnshownPasswordNotForgotten", Level = LogLevel.Warning,
        Message = "The generated password of account {Account} was shown, but its copy in Redis could not be removed ({Reason}): another replica's status page may offer it until it expires ({Hours} h)")]
    private static partial void LogNotForgotten(ILogger logger, string account, string reason, int hours);
}
