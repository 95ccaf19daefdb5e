using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>
/// A <see cref="DovecotFixture"/> whose oauth2 passdb lets a token open any mailbox of its user's domain
/// (<c>username_format = %d</c>): Dovecot's stand-in for Exchange's Full Access on a shared mailbox. Dovecot's
/// introspection request carries the token only, and it compares one attribute of the answer (the token's user,
/// here the delegate) with the XOAUTH2 <c>user=</c> (the shared mailbox), so "this delegate may open these
/// mailboxes" can only be said as "the same domain"; a mailbox of another domain is still refused.
/// </summary>
public sealed class DelegatingDovecotFixture : IAsyncLifetime
{
    internal DovecotFixture Dovecot { get; } = new("%d");

    public Task InitializeAsync() => Dovecot.InitializeAsync();

    public Task DisposeAsync() => Dovecot.DisposeAsync();
}
