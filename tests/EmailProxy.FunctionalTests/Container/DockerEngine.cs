using System.Diagnostics;
using System.Reflection;
using System.Runtime.InteropServices;
using Xunit;

namespace EmailProxy.FunctionalTests.Container;

/// <summary>
/// A private Docker engine for the image tests, and the image they test. The engine is Debian's dockerd
/// with its own data root (kept between runs: it caches the base image by its tag), exec root, socket and
/// pidfile, without a bridge or iptables (containers use the host's network); it is stopped by its PID
/// when the tests end, and its network namespace mount is removed. The image is built the way a machine
/// without Microsoft's registry builds it: the runtime-deps base from Debian (<c>.ci/docker-base-image</c>) and an
/// SDK stand-in with this machine's SDK (<c>.ci/docker-sdk-image</c>), passed as the Dockerfile's arguments to its
/// default target; the <c>prebuilt</c> target on demand. One engine for the whole <see cref="ContainerTestsRunAlone"/>
/// collection. Where the engine cannot run (not root, no dockerd), <see cref="Unavailable"/> says why and the tests are
/// reported as skipped, never passed.
/// </summary>
public sealed class DockerEngine : IAsyncLifetime, IDisposable
{
    public const string BaseImage = "emailproxy-local/runtime-deps:bookworm";
    private const string DataRoot = "/var/lib/emailproxy-test-docker";
    private const string RunRoot = "/run/emailproxy-test-docker";
    private static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(10);

    private Process? _daemon;
    private string? _context;

    /// <summary>Why the engine cannot run here; null when it runs.</summary>
    public string? Unavailable { get; private set; }

    /// <summary>The image the tests run (built from this checkout).</summary>
    public string Image { get; } = $"emailproxy-test:{Guid.NewGuid():N}";

    /// <summary>What docker, docker-compose and the scripts need to reach this engine, with BuildKit (the Dockerfile uses COPY --chmod).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; } = new Dictionary<string, string>
    {
        ["DOCKER_HOST"] = $"unix://{RunRoot}/docker.sock",
        ["DOCKER_BUILDKIT"] = "1",
        ["COMPOSE_DOCKER_CLI_BUILD"] = "1",
    };

    /// <summary>Debian's docker client (its BuildKit needs no buildx plugin), else whatever docker is on PATH.</summary>
    public static string Docker => File.Exists("/usr/bin/docker") ? "/usr/bin/docker" : "docker";

    /// <summary>The <c>prebuilt</c> target's image (<see cref="BuildPrebuiltAsync"/>).</summary>
    public string PrebuiltImage { get; } = $"emailproxy-test-prebuilt:{Guid.NewGuid():N}";

    /// <summary>The commit the image is built from (its OCI revision label).</summary>
    public string Commit { get; private set; } = "";

    /// <summary>The checkout's root (the Dockerfile, docker-compose.yml, .ci/).</summary>
    public static string RepositoryRoot => Path.GetFullPath(typeof(DockerEngine).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .First(attribute => attribute.Key == "RepositoryRoot").Value!);

    public async Task InitializeAsync()
    {
        if (OperatingSystem.IsWindows() || GetEffectiveUserId() != 0)
        {
            Unavailable = "the image tests start their own dockerd, which needs root: run them as root (CI does)";
            return;
        }
        if (!File.Exists("/usr/sbin/dockerd") || !File.Exists("/usr/bin/docker-compose") || !File.Exists("/usr/bin/mmdebstrap"))
        {
            Unavailable = "docker.io, docker-compose and mmdebstrap (Debian packages) are missing: .ci/install-test-tools installs them as root";
            return;
        }
        await StopLeftoverAsync();
        Directory.CreateDirectory(DataRoot);
        Directory.CreateDirectory(RunRoot);
        StartDaemon();
        await Command.CheckedAsync("bash", [Path.Combine(RepositoryRoot, ".ci", "docker-base-image"), BaseImage], BuildTimeout, Environment);

        Commit = (await Command.CheckedAsync("git", ["-C", RepositoryRoot, "rev-parse", "HEAD"], TimeSpan.FromSeconds(30))).Output.Trim();
        // The Dockerfile's default target, as `docker build .` and compose's `build: .` make it: built from source in
        // the SDK stage (a stand-in made from this machine's SDK), run on the runtime-deps base. Without ReadyToRun: its
        // ahead-of-time compilation of the whole framework took minutes of the suite's 20 on two cores, and changes
        // how fast the proxy starts, not what it does.
        var sdkImage = (await Command.CheckedAsync("bash", [Path.Combine(RepositoryRoot, ".ci", "docker-sdk-image"), BaseImage], BuildTimeout, Environment)).Output.Trim();
        await Command.CheckedAsync(Docker,
            ["build", "--network", "host", "--build-arg", $"SDK_IMAGE={sdkImage}", "--build-arg", $"BASE_IMAGE={BaseImage}", "--build-arg", $"VERSION_COMMIT={Commit}", "--build-arg", "READY_TO_RUN=false",
             "-t", Image, RepositoryRoot],
            BuildTimeout, Environment);
    }

    /// <summary>
    /// The Dockerfile's <c>prebuilt</c> target, for machines whose build stage cannot reach NuGet: the single file
    /// published on this machine, copied onto the base. Removed with the engine's images.
    /// </summary>
    internal async Task<string> BuildPrebuiltAsync()
    {
        _context ??= Directory.CreateTempSubdirectory("emailproxy-image-").FullName;
        await Command.CheckedAsync("dotnet",
            ["publish", Path.Combine(RepositoryRoot, "src", "EmailProxy", "EmailProxy.csproj"), "-c", "Release", "-r", "linux-x64", "--self-contained",
             "-p:PublishSingleFile=true", "-p:PublishReadyToRun=false", "-o", Path.Combine(_context, "publish"), "--nologo"],
            BuildTimeout);
        await Command.CheckedAsync(Docker,
            ["build", "--network", "host", "--target", "prebuilt", "--build-arg", $"BASE_IMAGE={BaseImage}", "--build-arg", $"VERSION_COMMIT={Commit}",
             "-f", Path.Combine(RepositoryRoot, "Dockerfile"), "-t", PrebuiltImage, _context],
            BuildTimeout, Environment);
        return PrebuiltImage;
    }

    /// <summary>Runs docker against this engine.</summary>
    internal Task<CommandResult> DockerAsync(params string[] arguments) => Command.RunAsync(Docker, arguments, TimeSpan.FromMinutes(2), Environment);

    public async Task DisposeAsync()
    {
        if (_daemon is { } daemon)
        {
            await Command.RunAsync(Docker, ["rmi", "--force", Image, PrebuiltImage], TimeSpan.FromMinutes(1), Environment);
            await StopDaemonAsync(daemon);
        }
        if (_context is not null)
        {
            Directory.Delete(_context, recursive: true);
        }
    }

    public void Dispose() => _daemon?.Dispose();

    private void StartDaemon()
    {
        var start = new ProcessStartInfo("/usr/sbin/dockerd")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in new[]
        {
            "--data-root", DataRoot, "--exec-root", RunRoot, "--host", $"unix://{RunRoot}/docker.sock", "--pidfile", $"{RunRoot}/docker.pid",
            "--bridge=none", "--iptables=false", "--ip6tables=false",
        })
        {
            start.ArgumentList.Add(argument);
        }
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var log = new List<string>();
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (log)
            {
                log.Add(line);
            }
            if (line.Contains("API listen on", StringComparison.Ordinal))
            {
                ready.TrySetResult();
            }
        }
        _daemon = new Process { StartInfo = start, EnableRaisingEvents = true };
        _daemon.OutputDataReceived += (_, e) => OnLine(e.Data);
        _daemon.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _daemon.Exited += (_, _) => ready.TrySetException(new InvalidOperationException("dockerd exited: " + string.Join('\n', log)));
        _daemon.Start();
        _daemon.BeginOutputReadLine();
        _daemon.BeginErrorReadLine();
        if (!ready.Task.Wait(TimeSpan.FromSeconds(60)))
        {
            throw new TimeoutException("dockerd did not listen within 60 s: " + string.Join('\n', log));
        }
    }

    /// <summary>A dockerd that an earlier run left (it died before its cleanup) holds the data root: stopped first.</summary>
    private static async Task StopLeftoverAsync()
    {
        var pidFile = Path.Combine(RunRoot, "docker.pid");
        if (File.Exists(pidFile) && int.TryParse(await File.ReadAllTextAsync(pidFile), out var pid))
        {
            try
            {
                using var leftover = Process.GetProcessById(pid);
                if (leftover.ProcessName == "dockerd")
                {
                    await StopDaemonAsync(leftover);
                }
            }
            catch (ArgumentException)
            {
                // Not running any more.
            }
        }
        await UnmountNamespaceAsync();
    }

    /// <summary>SIGTERM (dockerd stops its containers), then SIGKILL if it has not ended within 30 s; then its namespace mount.</summary>
    private static async Task StopDaemonAsync(Process daemon)
    {
        if (!daemon.HasExited)
        {
            await Command.RunAsync("kill", ["-TERM", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10));
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await daemon.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                daemon.Kill(entireProcessTree: true);
                await daemon.WaitForExitAsync(CancellationToken.None);
            }
        }
        await UnmountNamespaceAsync();
    }

    private static async Task UnmountNamespaceAsync()
    {
        var netns = Path.Combine(RunRoot, "netns", "default");
        if (File.Exists(netns))
        {
            await Command.RunAsync("umount", [netns], TimeSpan.FromSeconds(10));
        }
    }

    // DllImport rather than LibraryImport: the generated stubs need unsafe code.
    [DllImport("libc", EntryPoint = "geteuid")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern uint GetEffectiveUserId();
}
