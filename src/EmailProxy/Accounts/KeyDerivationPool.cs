using System.Diagnostics.CodeAnalysis;
using System.Net;
using EmailProxy.Connections;

namespace EmailProxy.Accounts;

/// <summary>
/// Runs key derivations off the threads that serve the sockets, a few at a time. Each derivation
/// gets a thread of its own (<see cref="TaskCreationOptions.LongRunning"/>), so the thread pool
/// that Kestrel's connections run on never executes a PBKDF2, and at most <see cref="Slots"/> run
/// at once, so guessers take at most that many cores. At most <see cref="MaxWaiting"/> more wait
/// for a slot (asynchronously, holding no thread); beyond that a check is refused at once with
/// <see cref="PasswordCheck.Busy"/>, which the client hears as a temporary failure, rather than
/// joining an unbounded queue.
/// </summary>
/// <remarks>
/// One client address (<see cref="ClientAddressKey"/>: an IPv6 client by its /64) has at most
/// <see cref="MaxPerAddress"/> checks in the pool (running or waiting for a slot), so that one
/// address opening many connections cannot fill the pool and make every other user's first login
/// (and the admin page) "busy". Its further checks wait in a line of the address's own, outside
/// the pool, for the address's earlier checks to finish: up to <see cref="MaxAddressWait"/>, then
/// they are answered <see cref="PasswordCheck.Busy"/>. Waiting rather than refusing at once keeps
/// a legitimate client that logs in many accounts at once (a CRM after a restart, all from one
/// address) working, only slower; the wait is bounded because a login may outlast its session's
/// login window (the session waits on the proxy's shutdown only). Many addresses together can
/// still fill the pool; that is what <see cref="PasswordCheck.Busy"/> is for.
/// Nothing here needs disposing: a <see cref="SemaphoreSlim"/> holds an operating-system handle
/// only once its <see cref="SemaphoreSlim.AvailableWaitHandle"/> is asked for, which never happens
/// here; so the pool is not <see cref="IDisposable"/>, and nobody has to own it.
/// </remarks>
[SuppressMessage("Reliability", "CA1001:Types that own disposable fields should be disposable", Justification = "The semaphores never make a wait handle; their Dispose releases nothing.")]
internal sealed class KeyDerivationPool
{
    /// <summary>Half the cores (at least one, at most four): the other half stays free for the sessions.</summary>
    public static int DefaultSlots => Math.Clamp(Environment.ProcessorCount / 2, 1, 4);

    public const int DefaultMaxWaiting = 16;

    /// <summary>Checks of one client address in the pool at once (running or waiting for a slot).</summary>
    public const int MaxPerAddress = 2;

    /// <summary>How long a check waits for its address's earlier checks before it is answered busy (well within a login window).</summary>
    public static readonly TimeSpan MaxAddressWait = TimeSpan.FromSeconds(20);

    private readonly SemaphoreSlim _slots;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, AddressShare> _addresses = new(StringComparer.Ordinal);
    private int _admitted;

    public KeyDerivationPool(int slots, int maxWaiting, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxWaiting);
        Slots = slots;
        MaxWaiting = maxWaiting;
        _slots = new SemaphoreSlim(slots, slots);
        _time = time ?? TimeProvider.System;
    }

    public KeyDerivationPool()
        : this(DefaultSlots, DefaultMaxWaiting)
    {
    }

    /// <summary>How many derivations may run at once.</summary>
    public int Slots { get; }

    /// <summary>How many checks may wait for a slot.</summary>
    public int MaxWaiting { get; }

    /// <summary>How many client addresses have checks in the pool or in their own line now (for tests of the bound).</summary>
    public int TrackedAddresses
    {
        get
        {
            lock (_addresses)
            {
                return _addresses.Count;
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="derive"/> on a thread of its own once the client's address has room
    /// (<see cref="MaxPerAddress"/>), its <paramref name="turn"/> has come, and a slot is free. The
    /// turn is taken inside the address's room, just before the check: so a burst of connections
    /// from one address is checked two at a time, each turn reckoned from the failures of the
    /// checks before it, never all at once from a clean slate. <paramref name="inline"/> (a
    /// remembered password) is asked after the turn and answers a match without a slot. A
    /// derivation that started is waited for even when <paramref name="cancellationToken"/> fires:
    /// its slot is held until its thread is done, so the bound on running derivations is real.
    /// </summary>
    /// <param name="client">The client's address; null when unknown (then only the pool's own bounds apply).</param>
    /// <param name="turn">Waits the client's turn; false: refused for now (<see cref="PasswordCheck.TooManyFailures"/>).</param>
    /// <param name="inline">A match found without a derivation, or false to derive.</param>
    /// <param name="settle">Told the result while the address's room is still held, so that the next check's turn counts this one's failure.</param>
    public async Task<PasswordCheck> RunAsync(Func<bool> derive, IPAddress? client, CancellationToken cancellationToken,
        Func<CancellationToken, Task<bool>>? turn = null, Func<bool>? inline = null, Action<PasswordCheck>? settle = null)
    {
        if (client is null)
        {
            return await TurnThenRunAsync(derive, turn, inline, settle, cancellationToken);
        }
        var key = ClientAddressKey.Of(client);
        AddressShare? share;
        lock (_addresses)
        {
            if (!_addresses.TryGetValue(key, out share))
            {
                share = new AddressShare();
                _addresses.Add(key, share);
            }
            share.Users++;
        }
        try
        {
            if (!await share.EnterAsync(_time, cancellationToken))
            {
                return PasswordCheck.Busy;
            }
            try
            {
                return await TurnThenRunAsync(derive, turn, inline, settle, cancellationToken);
            }
            finally
            {
                share.Gate.Release();
            }
        }
        finally
        {
            lock (_addresses)
            {
                if (--share.Users == 0)
                {
                    _addresses.Remove(key);
                }
            }
        }
    }

    private async Task<PasswordCheck> TurnThenRunAsync(Func<bool> derive, Func<CancellationToken, Task<bool>>? turn, Func<bool>? inline,
        Action<PasswordCheck>? settle, CancellationToken cancellationToken)
    {
        var check = turn is not null && !await turn(cancellationToken) ? PasswordCheck.TooManyFailures
            : inline is not null && inline() ? PasswordCheck.Match
            : await RunInPoolAsync(derive, cancellationToken);
        settle?.Invoke(check);
        return check;
    }

    private async Task<PasswordCheck> RunInPoolAsync(Func<bool> derive, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _admitted) > Slots + MaxWaiting)
        {
            Interlocked.Decrement(ref _admitted);
            return PasswordCheck.Busy;
        }
        try
        {
            await _slots.WaitAsync(cancellationToken);
            try
            {
                var matched = await Task.Factory.StartNew(derive, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
                return matched ? PasswordCheck.Match : PasswordCheck.Mismatch;
            }
            finally
            {
                _slots.Release();
            }
        }
        finally
        {
            Interlocked.Decrement(ref _admitted);
        }
    }

    /// <summary>One address's room in the pool, and how many of its checks hold or wait for it (the entry goes when none do).</summary>
    private sealed class AddressShare
    {
        public SemaphoreSlim Gate { get; } = new(MaxPerAddress, MaxPerAddress);

        /// <summary>Guarded by the pool's dictionary.</summary>
        public int Users { get; set; }

        /// <summary>Takes a place; false when none came free within <see cref="MaxAddressWait"/>.</summary>
        public async Task<bool> EnterAsync(TimeProvider time, CancellationToken cancellationToken)
        {
            if (Gate.Wait(0, CancellationToken.None))
            {
                return true;
            }
            using var timer = new CancellationTokenSource(MaxAddressWait, time);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
            try
            {
                await Gate.WaitAsync(wait.Token);
                return true;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return false;
            }
        }
    }
}
