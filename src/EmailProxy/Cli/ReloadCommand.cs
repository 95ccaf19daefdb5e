namespace EmailProxy.Cli;

/// <summary>
/// <c>emailproxy reload</c>: asks the running proxy to read its configuration file again
/// (<c>POST /api/reload</c>, as SIGHUP does) and prints what changed, or why the file was refused.
/// Exit 0 when it was reloaded, 1 when it was refused or no proxy answers, 2 when the file cannot be read here.
/// </summary>
internal static class ReloadCommand
{
    public static async Task<int> RunAsync(string? configPath, CancellationToken cancellationToken)
    {
        // The file tells where the running proxy is and where its control.token lies; one that cannot be
        // read here would be refused by the proxy too, and the errors are already printed.
        var (path, read) = ProxyCommandLine.ReadConfig(configPath);
        if (!read.IsValid || read.Config is not { } config)
        {
            return ProxyCommandLine.ExitBadConfig;
        }
        using var proxy = await ControlClient.TryConnectAsync(config, cancellationToken);
        if (proxy is null)
        {
            await Console.Error.WriteLineAsync($"emailproxy: no running proxy answers for {path} (no control.token in its token folder, or nothing listens on its HTTP port): nothing to reload");
            return ProxyCommandLine.ExitFailure;
        }
        try
        {
            var summary = await proxy.ReloadAsync(cancellationToken);
            await Console.Out.WriteLineAsync($"Configuration reloaded: {summary}");
            return ProxyCommandLine.ExitOk;
        }
        catch (ControlException e)
        {
            await Console.Error.WriteLineAsync($"emailproxy: {e.Message}");
            return ProxyCommandLine.ExitFailure;
        }
    }
}
