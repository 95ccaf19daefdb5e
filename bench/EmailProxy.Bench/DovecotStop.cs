using EmailProxy.FunctionalTests.Dovecot;

namespace EmailProxy.Bench;

/// <summary>Stops and deletes a <see cref="DovecotFixture"/> at the end of an <c>await using</c>, whether it started or not.</summary>
internal sealed class DovecotStop(DovecotFixture dovecot) : IAsyncDisposable
{
    public async ValueTask DisposeAsync() => await dovecot.DisposeAsync();
}
