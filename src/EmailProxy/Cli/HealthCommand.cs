using System.Net;
using System.Net.Sockets;
using EmailProxy.Configuration;
using EmailProxy.Web;

namespace EmailProxy.Cli;

/// <summary>
/// <c>emailproxy health</c>: asks the running proxy's <c>/readyz</c> on its HTTP listener (by loopback when
/// it listens there or on every address, as in a container) and exits 0 only when it answers 200. The
/// container's HEALTHCHECK runs it, so the image needs no curl. It prints the answer's first lines (what is
/// not ready) and never more: the page holds no secret, and a probe's output lands in <c>docker inspect</c>.
/// </summary>
internal static class HealthCommand
{
    /// <summary>The probe's whole budget; docker's HEALTHCHECK timeout is longer.</summary>
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(4);

    private const int MaxLines = 10;

    public static async Task<int> RunAsync(string? configPath, CancellationToken cancellationToken)
    {
        var (path, read) = ProxyCommandLine.ReadConfig(configPath);
        if (!read.IsValid || read.Config is not { } config)
        {
            return 1;
        }
        var endPoint = ProbeEndPointOf(config.General);
        var host = endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]" : endPoint.Address.ToString();
        var url = new Uri($"http://{host}:{endPoint.Port}{ReadinessEndpoint.Path}");
        using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = Timeout };
        try
        {
            using var response = await http.GetAsync(url, cancellationToken);
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            foreach (var line in body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(MaxLines))
            {
                Console.WriteLine(line);
            }
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return 0;
            }
            await Console.Error.WriteLineAsync($"emailproxy: {url} answered {(int)response.StatusCode}: the proxy is not ready");
            return 1;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            await Console.Error.WriteLineAsync($"emailproxy: nothing answers on {url} ({(e is TaskCanceledException ? "no answer in time" : e.Message)}): is the proxy running with {path}?");
            return 1;
        }
    }

    /// <summary>Where to ask: by loopback when the listener is there or on every address; else its own address.</summary>
    internal static IPEndPoint ProbeEndPointOf(GeneralOptions general)
    {
        if (ControlClient.LoopbackEndPointOf(general) is { } loopback)
        {
            return loopback;
        }
        var web = WebListenAddress.Of(general);
        return new IPEndPoint(web.Address ?? IPAddress.Loopback, web.Port);
    }
}
