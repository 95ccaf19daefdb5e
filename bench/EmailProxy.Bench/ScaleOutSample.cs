namespace EmailProxy.Bench;

/// <summary>
/// One timed sample of a path: its logins, the CPU used meanwhile, and for an expired-token wave the refresh requests
/// the identity server saw and the replayed refresh tokens it caught.
/// </summary>
internal sealed record ScaleOutSample(ScaleOutPath Path, LoginRateResult Logins, ScaleOutCpu Cpu, int Refreshes = 0, int Replays = 0)
{
    public double LoginsPerSecond => Logins.LoginsPerSecond;

    public int Succeeded => Logins.Logins - Logins.Failures;
}
