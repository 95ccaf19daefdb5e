using System.Net.Sockets;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Container;

/// <summary>
/// deploy/systemd/emailproxy.service run by a real systemd: the test machines do not boot with systemd, so
/// the unit runs in a container whose first process is systemd (Debian bookworm from mmdebstrap,
/// <c>.ci/docker-systemd-image</c>), with the image's single-file <c>emailproxy</c>, the unit and the example
/// configuration installed as docs/systemd.md installs them. The whole sandbox applies (ProtectSystem=strict,
/// the system call filter, no capabilities, the dedicated user): the proxy must start under it, keep its state
/// in the StateDirectory, reload on <c>systemctl reload</c> without dropping a session or changing its PID, and
/// stop cleanly on <c>systemctl stop</c>.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(ContainerTestsRunAlone.Name)]
public sealed class SystemdServiceTests(DockerEngine docker)
{
    private const string SystemdImage = "emailproxy-local/systemd:bookworm";
    private const string ConfigPath = "/etc/emailproxy/emailproxy.config";
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task Service_UnderSystemd_StartsReloadsWithoutDroppingASessionAndStopsCleanly()
    {
        Skip.If(docker.Unavailable is not null, docker.Unavailable);
        var context = Directory.CreateTempSubdirectory("emailproxy-systemd-").FullName;
        var image = $"emailproxy-test-systemd:{Guid.NewGuid():N}";
        var container = $"emailproxy-systemd-{Guid.NewGuid():N}";
        var (imap, smtp, pop, web) = (TestEnvironment.GetFreePort(), TestEnvironment.GetFreePort(), TestEnvironment.GetFreePort(), TestEnvironment.GetFreePort());
        try
        {
            await Command.CheckedAsync("bash", [Path.Combine(DockerEngine.RepositoryRoot, ".ci", "docker-systemd-image"), SystemdImage], TimeSpan.FromMinutes(10), docker.Environment);
            var config = ExampleConfig(imap, smtp, web);
            await File.WriteAllTextAsync(Path.Combine(context, "emailproxy.config"), config);
            File.Copy(Path.Combine(DockerEngine.RepositoryRoot, "deploy", "systemd", "emailproxy.service"), Path.Combine(context, "emailproxy.service"));
            await File.WriteAllTextAsync(Path.Combine(context, "Dockerfile"), $"""
                FROM {docker.Image} AS proxy
                FROM {SystemdImage}
                COPY --from=proxy /usr/local/bin/emailproxy /usr/local/bin/emailproxy
                COPY emailproxy.service /etc/systemd/system/emailproxy.service
                COPY emailproxy.config {ConfigPath}
                RUN useradd --system --home-dir /var/lib/emailproxy --shell /usr/sbin/nologin emailproxy \
                 && chown -R root:emailproxy /etc/emailproxy && chmod 0750 /etc/emailproxy && chmod 0640 {ConfigPath} \
                 && systemctl enable emailproxy
                STOPSIGNAL SIGRTMIN+3
                CMD ["/lib/systemd/systemd"]
                """);
            await Command.CheckedAsync(DockerEngine.Docker, ["build", "--network", "host", "-t", image, context], TimeSpan.FromMinutes(5), docker.Environment);

            // systemd as the container's first process needs to manage cgroups and mount its tmpfs folders.
            await Command.CheckedAsync(DockerEngine.Docker,
                ["run", "-d", "--name", container, "--network", "host", "--cap-add", "SYS_ADMIN", "--security-opt", "seccomp=unconfined",
                 "--security-opt", "apparmor=unconfined", "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--tmpfs", "/run", "--tmpfs", "/run/lock", image],
                Bounded, docker.Environment);
            var boot = await WaitBootedAsync(container);
            Skip.If(boot is not ("running" or "degraded"), $"systemd did not boot in a container on this machine ({boot}): the unit cannot be run here");

            await WaitAcceptingAsync(imap);
            Assert.Equal("active", (await ExecAsync(container, "systemctl", "is-active", "emailproxy")).Output.Trim());
            var pid = (await ExecAsync(container, "systemctl", "show", "--value", "-p", "MainPID", "emailproxy")).Output.Trim();
            Assert.Equal("emailproxy 700", (await ExecAsync(container, "stat", "-c", "%U %a", "/var/lib/emailproxy")).Output.Trim());
            foreach (var file in new[] { "/var/lib/emailproxy/emailproxy.key", "/var/lib/emailproxy/tls/ca.pem" })
            {
                Assert.Equal("emailproxy", (await ExecAsync(container, "stat", "-c", "%U", file)).Output.Trim());
            }
            Assert.Equal(0, (await ExecAsync(container, "runuser", "-u", "emailproxy", "--", "emailproxy", "health", "--config", ConfigPath)).ExitCode);

            // A session opened before the reload, answered after it.
            await using var session = await LineClient.ConnectAsync(imap);
            Assert.StartsWith("* OK", await session.ReadLineAsync(Bounded), StringComparison.Ordinal);

            await File.WriteAllTextAsync(Path.Combine(context, "emailproxy.config"), config.Replace(
                $"smtp_listen       = 127.0.0.1:{smtp}", $"smtp_listen       = 127.0.0.1:{smtp}\npop_listen        = 127.0.0.1:{pop}", StringComparison.Ordinal));
            await Command.CheckedAsync(DockerEngine.Docker, ["cp", Path.Combine(context, "emailproxy.config"), $"{container}:{ConfigPath}"], Bounded, docker.Environment);
            await ExecAsync(container, "sh", "-c", $"chown root:emailproxy {ConfigPath} && chmod 0640 {ConfigPath}");
            Assert.Equal(0, (await ExecAsync(container, "systemctl", "reload", "emailproxy")).ExitCode);

            await WaitAcceptingAsync(pop);
            Assert.Equal(pid, (await ExecAsync(container, "systemctl", "show", "--value", "-p", "MainPID", "emailproxy")).Output.Trim());
            await session.WriteAsync("a1 NOOP\r\n");
            Assert.StartsWith("a1 OK", await session.ReadUntilAsync(line => line.StartsWith("a1 ", StringComparison.Ordinal)), StringComparison.Ordinal);
            var journal = (await ExecAsync(container, "journalctl", "-u", "emailproxy", "--no-pager", "-o", "cat")).Output;
            Assert.Contains("Configuration reloaded", journal, StringComparison.Ordinal);

            Assert.Equal(0, (await ExecAsync(container, "systemctl", "stop", "emailproxy")).ExitCode);
            Assert.Equal("success 0", (await ExecAsync(container, "sh", "-c", "echo $(systemctl show --value -p Result emailproxy) $(systemctl show --value -p ExecMainStatus emailproxy)")).Output.Trim());
        }
        finally
        {
            await docker.DockerAsync("rm", "--force", container);
            await docker.DockerAsync("rmi", "--force", image);
            Directory.Delete(context, recursive: true);
        }
    }

    /// <summary>deploy/systemd/emailproxy.config with this run's free ports: its paths stay the unit's.</summary>
    private static string ExampleConfig(int imap, int smtp, int web) =>
        File.ReadAllText(Path.Combine(DockerEngine.RepositoryRoot, "deploy", "systemd", "emailproxy.config"))
            .Replace("127.0.0.1:1993", $"127.0.0.1:{imap}", StringComparison.Ordinal)
            .Replace("127.0.0.1:1587", $"127.0.0.1:{smtp}", StringComparison.Ordinal)
            .Replace("127.0.0.1:18089", $"127.0.0.1:{web}", StringComparison.Ordinal);

    private Task<CommandResult> ExecAsync(string container, params string[] command) =>
        Command.RunAsync(DockerEngine.Docker, ["exec", container, .. command], Bounded, docker.Environment);

    /// <summary>
    /// systemd's state once it has booted ("running", or "degraded" when a unit of the image failed), in a bounded loop:
    /// right after the start its bus may not answer yet. What went wrong otherwise.
    /// </summary>
    private async Task<string> WaitBootedAsync(string container)
    {
        using var limit = new CancellationTokenSource(Bounded);
        var state = "";
        while (!limit.IsCancellationRequested)
        {
            var result = await ExecAsync(container, "systemctl", "is-system-running", "--wait");
            state = (result.Output + result.Error).Trim();
            if (result.Output.Trim() is "running" or "degraded" or "stopping" or "offline")
            {
                return result.Output.Trim();
            }
            await Task.Delay(TimeSpan.FromMilliseconds(500), CancellationToken.None);
        }
        var logs = await docker.DockerAsync("logs", "--tail", "20", container);
        return $"{state}; {logs.Output}{logs.Error}".Trim();
    }

    /// <summary>Waits, in a bounded loop, until the port on the host's loopback accepts a connection (the container shares the host's network).</summary>
    private static async Task WaitAcceptingAsync(int port)
    {
        using var limit = new CancellationTokenSource(Bounded);
        while (!limit.IsCancellationRequested)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync("127.0.0.1", port, limit.Token);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), CancellationToken.None);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
        throw new TimeoutException($"nothing accepted on 127.0.0.1:{port} within {Bounded.TotalSeconds} s");
    }
}
