using System.Globalization;

namespace EmailProxy.Tests.Fuzz;

/// <summary>
/// How long a fuzz run is and where it starts: bounded and reproducible by default, so that CI
/// runs it with every test run; EMAILPROXY_FUZZ_ITERATIONS makes it longer, EMAILPROXY_FUZZ_SEED
/// replays the seed a failure printed.
/// </summary>
internal static class FuzzRun
{
    public const int DefaultSeed = 20261124;
    public const int DefaultIterations = 400;

    public static int Seed { get; } = Read("EMAILPROXY_FUZZ_SEED", DefaultSeed);

    /// <summary>The run's size: each target runs a multiple of it (sessions fewer, the reader more).</summary>
    public static int Iterations { get; } = Read("EMAILPROXY_FUZZ_ITERATIONS", DefaultIterations);

    /// <summary>An input as a failure message shows it: base64, cut at 300 bytes, with its size.</summary>
    public static string Describe(byte[] input) =>
        input.Length > 300 ? $"{Convert.ToBase64String(input, 0, 300)}… ({input.Length} bytes)" : Convert.ToBase64String(input);

    private static int Read(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : fallback;
}
