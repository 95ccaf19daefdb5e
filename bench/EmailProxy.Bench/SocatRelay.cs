using System.Diagnostics;
using System.Globalization;

namespace EmailProxy.Bench;

/// <summary>
/// One socat process relaying one connection (no <c>fork</c>, so its own /proc/PID/stat holds all the relay's CPU):
/// plaintext or TLS in (<c>TCP-LISTEN</c> / <c>OPENSSL-LISTEN</c> with the test server certificate), TLS out to Dovecot
/// (<c>OPENSSL:127.0.0.1:PORT</c>, checked against the test CA). socat's defaults otherwise (8 KiB transfer blocks).
/// </summary>
internal sealed class SocatRelay : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TaskCompletionSource _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private SocatRelay(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    /// <summary>Where the client connects (once).</summary>
    public int Port { get; }

    public int ProcessId => _process.Id;

    /// <summary>Starts socat and waits until it listens.</summary>
    /// <param name="certificate">PEM certificate and key for TLS towards the client; null: plaintext in.</param>
    public static async Task<SocatRelay> StartAsync(int upstreamPort, string caFile, (string Certificate, string Key)? certificate, CancellationToken cancellationToken)
    {
        var port = BenchEnvironment.GetFreePort();
        var listen = certificate is { } pem
            ? $"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,nodelay,cert={pem.Certificate},key={pem.Key},verify=0"
            : $"TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,nodelay";
        var start = new ProcessStartInfo("socat")
        {
            UseShellExecute = false,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.ArgumentList.Add("-d");
        start.ArgumentList.Add("-d");
        start.ArgumentList.Add(listen);
        start.ArgumentList.Add(string.Create(CultureInfo.InvariantCulture, $"OPENSSL:127.0.0.1:{upstreamPort},cafile={caFile},nodelay"));
        var process = new Process { StartInfo = start };
        var relay = new SocatRelay(process, port);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data?.Contains("listening on", StringComparison.Ordinal) == true)
            {
                relay._listening.TrySetResult();
            }
        };
        process.Start();
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            await relay._listening.Task.WaitAsync(TimeSpan.FromSeconds(10), cancellationToken);
        }
        catch
        {
            await relay.DisposeAsync();
            throw;
        }
        return relay;
    }

    public TimeSpan ReadCpuTime() => ProcessCpu.Of(_process.Id);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }
        await _process.WaitForExitAsync(CancellationToken.None);
        _process.Dispose();
    }
}
