namespace EmailProxy.Bench;

/// <summary>The <c>relay</c> mode's work: sizes, repetitions and which client-side modes run (issue 15, items 1 and 2).</summary>
internal sealed record RelayOptions
{
    public bool Short { get; init; }

    /// <summary>The command line as given, for the report.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The one big message: IMAP FETCH 1 BODY[], POP3 RETR 1 and SMTP DATA carry it.</summary>
    public int BigMessageBytes { get; init; } = 25 * 1024 * 1024;

    /// <summary>FETCH 1:* BODY[] of this many messages…</summary>
    public int SmallMessages { get; init; } = 100;

    /// <summary>…of this size each (100 KB).</summary>
    public int SmallMessageBytes { get; init; } = 100 * 1000;

    /// <summary>Interleaved repetitions: each path once per repetition and workload, in a rotating order.</summary>
    public int Repetitions { get; init; } = 7;

    /// <summary>Transfers timed together as one sample of a repetition.</summary>
    public int TransfersPerSample { get; init; } = 4;

    /// <summary>The client side of the relays: plaintext (item 1), implicit TLS (item 2), or both.</summary>
    public IReadOnlyList<bool> ClientTls { get; init; } = [false, true];

    /// <summary>Before each workload, wait up to this long for other processes to leave the cores alone.</summary>
    public TimeSpan QuietWait { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A short run for CI (figures recorded, not asserted).</summary>
    public static RelayOptions ShortRun { get; } = new()
    {
        Short = true,
        Repetitions = 2,
        TransfersPerSample = 1,
        QuietWait = TimeSpan.Zero,
    };

    /// <summary>
    /// Smaller still, for the functional test only: every workload on every path once, with a 2 MiB message and 10 small
    /// ones; the figures mean nothing.
    /// </summary>
    public static RelayOptions SmokeRun { get; } = ShortRun with
    {
        BigMessageBytes = 2 * 1024 * 1024,
        SmallMessages = 10,
        Repetitions = 1,
    };
}
