using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>The tests' part of the fixture: xunit's lifetime, the tests' port scheme and a signed-in proxy against this Dovecot.</summary>
public sealed partial class DovecotFixture : IAsyncLifetime
{
    /// <summary>
    /// Points the test's proxy at this Dovecot (IMAP, POP3 and submission of <c>[server fake]</c>, the test CA as
    /// <c>ca_file</c>), starts it and signs the account in: the relay asks the test's identity server from now on.
    /// </summary>
    /// <param name="startTls">IMAP and POP3 upstream in plaintext with STARTTLS/STLS (<c>ssl = false</c>); else implicit TLS.</param>
    /// <param name="localTls">The proxy's local TLS lines (<c>local_tls = off</c> by default, as <see cref="TestEnvironment.BuildConfig"/> has it).</param>
    internal async Task<ProxyProcess> StartSignedInProxyAsync(TestEnvironment env, bool startTls, string localTls = TestEnvironment.LocalTlsOff)
    {
        ArgumentNullException.ThrowIfNull(env);
        Introspection.RefuseAll = false;
        Introspection.Use(env.Identity);
        env.WriteConfig(transform: text => text
            .Replace(TestEnvironment.LocalTlsOff, localTls, StringComparison.Ordinal)
            .Replace($"imap_port = {env.Imap.Port}", $"imap_port = {(startTls ? ImapPort : ImapsPort)}", StringComparison.Ordinal)
            .Replace($"pop_port = {env.Pop.Port}", $"pop_port = {(startTls ? PopPort : PopsPort)}", StringComparison.Ordinal)
            .Replace($"smtp_port = {env.Smtp.Port}", $"smtp_port = {SubmissionPort}", StringComparison.Ordinal)
            .Replace($"ca_file = {env.CaFile}", $"ca_file = {env.CaFile}\nssl = {(startTls ? "false" : "true")}\nstarttls = true", StringComparison.Ordinal));
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        return proxy;
    }

    private static partial int FreePort() => TestEnvironment.GetFreePort();
}
