using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Dovecot;

/// <summary>The tests' part of <see cref="DovecotFixture"/>: an xunit fixture, ports of the tests' range, and a signed-in proxy.</summary>
public sealed partial class DovecotFixture : IAsyncLifetime
{
    /// <summary>
    /// Points the test's proxy at this Dovecot (IMAP, POP3 and submission of <c>[server fake]</c>, the test CA as
    /// <c>ca_file</c>), starts it and signs the account in: the relay asks the test's identity server from now on.
    /// </summary>
    /// <param name="startTls">IMAP and POP3 upstream in plaintext with STARTTLS/STLS (<c>ssl = false</c>); else implicit TLS.</param>
    /// <param name="localTls">The proxy's local TLS lines (<c>local_tls = off</c> by default, as <see cref="TestEnvironment.BuildConfig"/> has it).</param>
    /// <param name="append">More configuration after the default (more accounts on <c>[server fake]</c>).</param>
    /// <param name="transform">Applied to the configuration text last (e.g. another provider for the account).</param>
    internal async Task<ProxyProcess> StartSignedInProxyAsync(TestEnvironment env, bool startTls, string localTls = TestEnvironment.LocalTlsOff, string? append = null,
        Func<string, string>? transform = null)
    {
        ArgumentNullException.ThrowIfNull(env);
        Introspection.RefuseAll = false;
        Introspection.Use(env.Identity);
        env.WriteConfig(append, transform: text =>
        {
            var written = text
                .Replace(TestEnvironment.LocalTlsOff, localTls, StringComparison.Ordinal)
                .Replace($"imap_port = {env.Imap.Port}", $"imap_port = {(startTls ? ImapPort : ImapsPort)}", StringComparison.Ordinal)
                .Replace($"pop_port = {env.Pop.Port}", $"pop_port = {(startTls ? PopPort : PopsPort)}", StringComparison.Ordinal)
                .Replace($"smtp_port = {env.Smtp.Port}", $"smtp_port = {SubmissionPort}", StringComparison.Ordinal)
                .Replace($"ca_file = {env.CaFile}", $"ca_file = {env.CaFile}\nssl = {(startTls ? "false" : "true")}\nstarttls = true", StringComparison.Ordinal);
            return transform is null ? written : transform(written);
        });
        var proxy = await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);
        return proxy;
    }

    private static partial int FreePort() => TestEnvironment.GetFreePort();
}
