namespace EmailProxy.Accounts;

/// <summary>
/// TEST ONLY: a derivation that, before doing the real one, writes a line starting with
/// <see cref="Variable"/> to standard error (numbered: "password check 3 waits for …") and waits
/// until the file named by that environment variable exists. The functional tests use it to fill
/// every derivation slot of the real process with checks that block, and see that other sessions
/// are still served. Read once per process (<see cref="FromEnvironment"/>); never set it in production:
/// the proxy logs a warning at every start while it is set (<see cref="PasswordVerifier.TestGateFile"/>).
/// </summary>
internal sealed class FileGatedKeyDerivation(IKeyDerivation inner, string releaseFile) : IKeyDerivation
{
    public const string Variable = "EMAILPROXY_TEST_BLOCK_PASSWORD_CHECKS";

    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(20);

    private int _started;

    /// <summary>The file whose existence lets the checks go on.</summary>
    public string ReleaseFile { get; } = releaseFile;

    /// <summary><paramref name="inner"/> itself, or gated by the file the environment variable names.</summary>
    public static IKeyDerivation FromEnvironment(IKeyDerivation inner) =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } path ? new FileGatedKeyDerivation(inner, Path.GetFullPath(path)) : inner;

    public bool Matches(string passwordHash, string password)
    {
        var number = Interlocked.Increment(ref _started);
        Console.Error.WriteLine($"{Variable}: password check {number} waits for {ReleaseFile}");
        // This runs on the derivation's own thread (KeyDerivationPool), which is what a slow PBKDF2 would hold.
        while (!File.Exists(ReleaseFile))
        {
            Thread.Sleep(PollInterval);
        }
        return inner.Matches(passwordHash, password);
    }
}
