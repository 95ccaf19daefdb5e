using System.CommandLine;

namespace EmailProxy.Bench;

/// <summary>The <c>graph</c> subcommand: its own options, and the root's <c>--proxy-dll</c> and <c>--proxy-env</c>.</summary>
internal static class GraphCommandLine
{
    public static Command Create(string[] args, Option<FileInfo> proxyDll, Option<string[]> proxyEnv)
    {
        var shortRun = new Option<bool>("--short")
        {
            Description = "A short run: 2 repetitions of 10 messages per path for the latency, 2 sessions × 10 messages for the rate",
        };
        var command = new Command("graph", "100 KB messages through the proxy with smtp_via = graph (a fake of Microsoft Graph) against smtp_via = smtp and a direct session to the real Dovecot's submission (issue 19)")
        {
            shortRun,
        };
        command.SetAction((result, cancellationToken) =>
        {
            ProxyInstance.DllOverride = result.GetValue(proxyDll)?.FullName;
            ProxyInstance.ExtraEnvironment = (result.GetValue(proxyEnv) ?? []).Select(pair => pair.Split('=', 2))
                .GroupBy(pair => pair[0], StringComparer.Ordinal).ToDictionary(pairs => pairs.Key, pairs => pairs.Last()[1], StringComparer.Ordinal);
            var options = (result.GetValue(shortRun) ? GraphBenchOptions.ShortRun : new GraphBenchOptions()) with { Arguments = args };
            return GraphMode.RunAsync(options, cancellationToken);
        });
        return command;
    }
}
