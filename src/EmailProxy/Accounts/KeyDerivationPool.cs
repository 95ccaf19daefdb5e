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
internal sealed class KeyDerivationPool : IDisposable
{
    /// <summary>Half the cores (at least one, at most four): the other half stays free for the sessions.</summary>
    public static int DefaultSlots => Math.Clamp(Environment.ProcessorCount / 2, 1, 4);

    public const int DefaultMaxWaiting = 16;

    private readonly SemaphoreSlim _slots;
    private int _admitted;

    public KeyDerivationPool(int slots, int maxWaiting)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(maxWaiting);
        Slots = slots;
        MaxWaiting = maxWaiting;
        _slots = new SemaphoreSlim(slots, slots);
    }

    public KeyDerivationPool()
        : this(DefaultSlots, DefaultMaxWaiting)
    {
    }

    /// <summary>How many derivations may run at once.</summary>
    public int Slots { get; }

    /// <summary>How many checks may wait for a slot.</summary>
    public int MaxWaiting { get; }

    /// <summary>
    /// Runs <paramref name="derive"/> on a thread of its own once a slot is free. A derivation that
    /// started is waited for even when <paramref name="cancellationToken"/> fires: its slot is held
    /// until its thread is done, so the bound on running derivations is real.
    /// </summary>
    public async Task<PasswordCheck> RunAsync(Func<bool> derive, CancellationToken cancellationToken)
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

    public void Dispose() => _slots.Dispose();
}
