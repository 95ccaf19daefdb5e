namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>The bench's part of the linked Dovecot fixture: its listeners take ports the way the bench's own do.</summary>
public sealed partial class DovecotFixture
{
    private static partial int FreePort() => EmailProxy.Bench.BenchEnvironment.GetFreePort();
}
