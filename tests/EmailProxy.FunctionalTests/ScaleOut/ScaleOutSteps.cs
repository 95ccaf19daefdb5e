using System.Net;
using System.Text.RegularExpressions;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>What the scale-out tests do to a <see cref="ReplicaSet"/>: sign in through one replica, log in at a port.</summary>
internal static partial class ScaleOutSteps
{
    public const string Password = "any-Pa55word";

    /// <summary>
    /// A sign-in started and completed on <paramref name="replica"/>: a login at its own IMAP port is told to sign in,
    /// the URL it logs is followed through the fake provider, and the provider's redirect (to the public redirect URI, the
    /// balancer's) is delivered to this replica's own HTTP listener, so that the test does not depend on the balancer's turn.
    /// </summary>
    /// <param name="ignoreLines">Lines of the replica's output not to take the URL from (those of an earlier sign-in, whose
    /// state is spent): with shared sign-ins a login that joins the sign-in under way logs no new authorize URL.</param>
    public static async Task SignInThroughAsync(ReplicaSet set, Replica replica, string account = TestEnvironment.Account, IReadOnlySet<string>? ignoreLines = null)
    {
        ArgumentNullException.ThrowIfNull(set);
        ArgumentNullException.ThrowIfNull(replica);
        await using (var client = await LineClient.ConnectAsync(replica.ImapPort))
        {
            await client.ReadLineAsync();
            await client.WriteAsync($"s1 LOGIN {account} x\r\n");
            Assert.Contains("needs an OAuth2 sign-in", await client.ReadLineAsync() ?? "", StringComparison.Ordinal);
        }
        var line = await replica.Process.WaitForLineAsync(text => ignoreLines?.Contains(text) != true && text.Contains("OAuth2", StringComparison.Ordinal)
            && text.Contains(account, StringComparison.OrdinalIgnoreCase) && UrlPattern().IsMatch(text));
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseProxy = false }) { Timeout = ObservableLog.DefaultTimeout };
        var url = new Uri(UrlPattern().Match(line).Value);
        // The proxy's own page first (it sends the browser on to the provider), then the provider's authorize page.
        for (var hop = 0; hop < 5; hop++)
        {
            using var response = await http.GetAsync(url);
            if (response.StatusCode is not (HttpStatusCode.Redirect or HttpStatusCode.Found or HttpStatusCode.SeeOther or HttpStatusCode.RedirectKeepVerb))
            {
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(body.Contains("signed in", StringComparison.Ordinal), $"{url}: {body}");
                return;
            }
            var next = new Uri(url, response.Headers.Location!);
            url = next.Port == set.Environment.HttpPort ? new UriBuilder(next) { Port = replica.HttpPort }.Uri : next;
        }
        Assert.Fail("the sign-in did not end on the proxy's page");
    }

    /// <summary>An IMAP LOGIN at <paramref name="port"/>; returns its tagged answer.</summary>
    public static async Task<string> ImapLoginAsync(int port, string account = TestEnvironment.Account)
    {
        await using var client = await LineClient.ConnectAsync(port);
        await client.ReadLineAsync();
        await client.WriteAsync($"l1 LOGIN {account} {Password}\r\n");
        var answer = await client.ReadUntilAsync(l => l.StartsWith("l1 ", StringComparison.Ordinal));
        await client.WriteAsync("l2 LOGOUT\r\n");
        return answer;
    }

    /// <summary>Runs <c>emailproxy ARGUMENTS</c> with the replicas' environment (master key, Redis password); its exit code and output.</summary>
    public static Task<(int ExitCode, string Output)> RunCliAsync(ReplicaSet set, params string[] arguments)
    {
        ArgumentNullException.ThrowIfNull(set);
        return RunCliAsync(set.ProcessEnvironment, arguments);
    }

    /// <summary>Runs <c>emailproxy ARGUMENTS</c> with these variables set; its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunCliAsync(IReadOnlyDictionary<string, string?> environment, params string[] arguments)
    {
        ArgumentNullException.ThrowIfNull(environment);
        var start = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(ProxyProcess.DllPath);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }
        using var process = System.Diagnostics.Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(ObservableLog.DefaultTimeout);
        return (process.ExitCode, await stdout + await stderr);
    }

    [GeneratedRegex(@"https?://\S+")]
    private static partial Regex UrlPattern();
}
