using System.CommandLine;

namespace EmailProxy.Bench;

/// <summary>The <c>relay</c> subcommand: its own options, and the root's <c>--proxy-dll</c>, <c>--proxy-env</c> and <c>--quiet-wait</c>.</summary>
internal static class RelayCommandLine
{
    public static Command Create(string[] args, Option<FileInfo> proxyDll, Option<string[]> proxyEnv, Option<int?> quietWait)
    {
        var shortRun = new Option<bool>("--short")
        {
            Description = "A short run for CI: 2 repetitions of one transfer each, no waiting for quiet cores",
        };
        var smoke = new Option<bool>("--smoke")
        {
            Description = "Smaller still, for the functional tests: 1 repetition, a 2 MiB message and 10 small ones; figures meaningless",
        };
        var repetitions = new Option<int?>("--repetitions")
        {
            Description = "Interleaved repetitions per workload (default 7, short 2)",
            HelpName = "N",
        };
        repetitions.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } value && value is < 1 or > 100)
            {
                result.AddError($"--repetitions: {value} is not from 1 to 100");
            }
        });
        var transfers = new Option<int?>("--transfers")
        {
            Description = "Transfers timed together as one sample (default 4, short 1)",
            HelpName = "N",
        };
        transfers.Validators.Add(result =>
        {
            if (result.GetValueOrDefault<int?>() is { } value && value is < 1 or > 100)
            {
                result.AddError($"--transfers: {value} is not from 1 to 100");
            }
        });
        var clientSide = new Option<string>("--client")
        {
            Description = "The client side of the relays: plaintext, tls or both (default both)",
            HelpName = "SIDE",
        };
        clientSide.AcceptOnlyFromAmong("plaintext", "tls", "both");

        var command = new Command("relay", "The relay against socat and a direct connection, to the real Dovecot of the tests on implicit TLS: IMAP FETCH, POP3 RETR, SMTP DATA (issue 15, items 1-2)")
        {
            shortRun, smoke, repetitions, transfers, clientSide,
        };
        command.SetAction((result, cancellationToken) =>
        {
            ProxyInstance.DllOverride = result.GetValue(proxyDll)?.FullName;
            ProxyInstance.ExtraEnvironment = (result.GetValue(proxyEnv) ?? []).Select(pair => pair.Split('=', 2))
                .GroupBy(pair => pair[0], StringComparer.Ordinal).ToDictionary(pairs => pairs.Key, pairs => pairs.Last()[1], StringComparer.Ordinal);
            var options = (result.GetValue(smoke) ? RelayOptions.SmokeRun : result.GetValue(shortRun) ? RelayOptions.ShortRun : new RelayOptions()) with { Arguments = args };
            if (result.GetValue(repetitions) is { } n)
            {
                options = options with { Repetitions = n };
            }
            if (result.GetValue(transfers) is { } t)
            {
                options = options with { TransfersPerSample = t };
            }
            if (result.GetValue(quietWait) is { } seconds)
            {
                options = options with { QuietWait = TimeSpan.FromSeconds(seconds) };
            }
            options = result.GetValue(clientSide) switch
            {
                "plaintext" => options with { ClientTls = [false] },
                "tls" => options with { ClientTls = [true] },
                _ => options,
            };
            return RelayMode.RunAsync(options, cancellationToken);
        });
        return command;
    }
}
