namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// The bench's stand-in for the functional tests' TestEnvironment, of which the linked RedisServer and HaproxyServer
/// use only the free-port helper: their listeners take ports the way the bench's own do.
/// </summary>
internal static class TestEnvironment
{
    public static int GetFreePort() => EmailProxy.Bench.BenchEnvironment.GetFreePort();
}
