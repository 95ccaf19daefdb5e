using System.Diagnostics;
using System.Text;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Container;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.LocalTls;

/// <summary>
/// EspoCRM's two ways to the proxy, run with Debian's PHP as EspoCRM runs (by 127.0.0.1, verifying
/// certificates): the seed's settings (IMAP SSL/TLS on the IMAP port as a verifying <c>ssl://</c> stream,
/// SMTP STARTTLS with Symfony Mailer on a <c>starttls</c> listener, both trusting the generated CA), and
/// security "None" on both against <c>auto</c> listeners with no CA installed anywhere: Symfony Mailer
/// upgrades only when STARTTLS is offered and <c>auto</c> does not offer it, and <c>imap_open</c> with no
/// flags logs in in plaintext. The script is espocrm_php.php beside this file.
/// </summary>
public sealed class EspoCrmPhpTests
{
    [Fact]
    public async Task Php_SeedSettingsSslTlsImapAndStartTlsSmtpTrustingTheCa_LogsInAndSends()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto\nsmtp_tls = starttls"));
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        var (exit, output) = await RunPhpAsync(env, "seed", env.LocalCaFile);

        Assert.True(exit == 0, output);
        Assert.Contains("imap ssl/tls: OK", output, StringComparison.Ordinal);
        Assert.Contains("smtp seed: sent", output, StringComparison.Ordinal);
        Assert.Contains("PHP-SYMFONY-seed-MARKER", Encoding.UTF8.GetString(Assert.Single(env.Smtp.Messages).Data), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Php_SecurityNoneOnAutoListenersWithNoCaAnywhere_LogsInAndSendsInPlaintext()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.Imap.AddMessage("Subject: for EspoCRM\r\n\r\nhello\r\n"u8.ToArray());
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = auto"));
        await env.StartProxyAsync();
        await ImapProxyTests.SignInFromStatusPageAsync(env);

        var (exit, output) = await RunPhpAsync(env, "none", null);

        Assert.True(exit == 0, output);
        Assert.Contains("imap none: OK 1", output, StringComparison.Ordinal);
        Assert.Contains("smtp none: sent", output, StringComparison.Ordinal);
        Assert.Contains("PHP-SYMFONY-none-MARKER", Encoding.UTF8.GetString(Assert.Single(env.Smtp.Messages).Data), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Php_ImapOpenWithNoFlagsOnAStartTlsListener_TakesStartTlsFailsAndTheLogSaysWhy()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig(transform: TestEnvironment.WithLocalTls("local_tls = off\nimap_tls = starttls"));
        var proxy = await env.StartProxyAsync();

        // Why auto does not offer STARTTLS: c-client upgrades whenever it is offered, and speaks TLS 1.0 only.
        var (exit, output) = await RunPhpAsync(env, "imap_open", null);

        Assert.True(exit != 0, output);
        Assert.Contains("imap_open failed: TLS/SSL failure", output, StringComparison.Ordinal);
        var line = await proxy.WaitForLineAsync(l => l.Contains("TLS handshake with client 127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains("the client offers only TLS versions older than 1.2", line, StringComparison.Ordinal);
        Assert.Contains("PHP's imap_open", line, StringComparison.Ordinal);
    }

    /// <summary>Runs the PHP script, bounded by <c>timeout</c> and killed by its PID past the test's own wait.</summary>
    private static async Task<(int ExitCode, string Output)> RunPhpAsync(TestEnvironment env, string way, string? caFile)
    {
        var script = Path.Combine(AppContext.BaseDirectory, "LocalTls", "espocrm_php.php");
        var arguments = new List<string> { "60", "php", script, way, $"{env.ImapPort}", $"{env.SmtpPort}", TestEnvironment.Account, "pw" };
        if (caFile is not null)
        {
            arguments.Add(caFile);
        }
        var result = await Command.RunAsync("timeout", arguments, ObservableLog.DefaultTimeout);
        return (result.ExitCode, result.Output + result.Error);
    }
}
