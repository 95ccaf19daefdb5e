using System.Text;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Cli;

/// <summary>
/// <c>test-oauth2-flow.sh</c> against the real proxy and the in-process "Microsoft": it reads the config, triggers the
/// sign-in with an IMAP login, prints what to open and waits until the test signs in from the status page, then
/// checks IMAP, SMTP and POP3; a failing step exits non-zero naming it.
/// </summary>
public sealed class TestOAuth2FlowScriptTests
{
    [Fact]
    public async Task Script_AccountNeedsSignIn_PrintsTheUrlWaitsForTheSignInThenPassesEveryStep()
    {
        await using var env = await TestEnvironment.CreateAsync();
        await env.StartProxyAsync();
        var (exitCode, text) = await FlowScript.RunSigningInAsync(["--config", env.ConfigPath, "--timeout", "120"],
            () => ImapProxyTests.SignInFromStatusPageAsync(env));

        Assert.True(exitCode == 0, text);
        Assert.Contains($"Open {env.RedirectUri}/accounts/{Uri.EscapeDataString(TestEnvironment.Account)}/signin", text, StringComparison.Ordinal);
        Assert.Contains("ok: IMAP LOGIN + LIST", text, StringComparison.Ordinal);
        Assert.Contains("ok: SMTP EHLO + AUTH", text, StringComparison.Ordinal);
        Assert.Contains("ok: POP3 USER/PASS + STAT", text, StringComparison.Ordinal);
        Assert.Contains("All steps passed.", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Script_NoProxyListening_ExitsThreeNamingTheImapPort()
    {
        await using var env = await TestEnvironment.CreateAsync();
        env.WriteConfig();
        var output = new StringBuilder();
        using var script = FlowScript.Start(["--config", env.ConfigPath], output, new TaskCompletionSource());
        try
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await script.WaitForExitAsync(limit.Token);
        }
        finally
        {
            FlowScript.StopIfRunning(script);
        }

        Assert.Equal(3, script.ExitCode);
        Assert.Contains($"FAILED: no IMAP greeting from 127.0.0.1:{env.ImapPort}", FlowScript.Text(output), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Script_TimeoutNotInSeconds_ExitsTwoAtOnce()
    {
        // "10m" once made the wait endless: the comparison failed and the loop never gave up.
        var result = await EmailProxy.FunctionalTests.Container.Command.RunAsync("bash", [FlowScript.Path, "--timeout", "10m"], TimeSpan.FromSeconds(30));

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--timeout takes whole seconds, not '10m'", result.Error, StringComparison.Ordinal);
    }
}
