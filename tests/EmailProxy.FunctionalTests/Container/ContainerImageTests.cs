using System.Globalization;
using EmailProxy.FunctionalTests.Cli;
using EmailProxy.FunctionalTests.Dovecot;
using EmailProxy.FunctionalTests.Imap;
using EmailProxy.FunctionalTests.Infrastructure;
using MailKit;
using MailKit.Net.Imap;
using MailKit.Security;
using Xunit;

namespace EmailProxy.FunctionalTests.Container;

/// <summary>
/// The image, run the way the README runs it: the repository's docker-compose.yml (container
/// <c>espocrm-mail-proxy</c>, <c>./config</c> at <c>/config</c>) with an override that puts it on the host's
/// network (the test identity server and the real Dovecot listen on 127.0.0.1 only) and checks its health
/// every 2 s instead of 30 (so that the test waits less). Compose v1 refuses published ports with the host's
/// network and an override cannot remove a list, so the test's copy of the file drops its <c>ports:</c>. It must become healthy by its own HEALTHCHECK
/// (the binary probing itself), sign in, relay to Dovecot, keep its tokens on the mounted folder as uid
/// 1654 with mode 0600, stop cleanly on SIGTERM, and log in again after a restart with no new sign-in.
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
[Collection(ContainerTestsRunAlone.Name)]
public sealed class ContainerImageTests(DockerEngine docker, DovecotFixture dovecot) : IClassFixture<DovecotFixture>
{
    private const string ContainerName = "espocrm-mail-proxy";
    private const int ContainerUid = 1654;
    private const string Password = "any-Pa55word";

    [SkippableFact]
    public async Task Compose_UpBesideDovecot_HealthySignsInRelaysAndLogsInAgainAfterARestart()
    {
        Skip.If(docker.Unavailable is not null, docker.Unavailable);
        await using var env = await TestEnvironment.CreateAsync();
        var project = Directory.CreateTempSubdirectory("emailproxy-compose-").FullName;
        try
        {
            var config = WriteContainerConfig(env, project);
            await Command.CheckedAsync("chown", ["-R", $"{ContainerUid}:{ContainerUid}", config], TimeSpan.FromSeconds(10));
            var compose = ComposeArguments(project);

            await Compose(compose, "up", "-d", "--no-build");
            await WaitHealthyAsync();
            // The operator's script against the container: it shows what to open, the test signs in, the script checks every protocol.
            var (exitCode, output) = await FlowScript.RunSigningInAsync(["--container", ContainerName, "--timeout", "120"],
                () => ImapProxyTests.SignInFromStatusPageAsync(env), new Dictionary<string, string>(docker.Environment) { ["EMAILPROXY_TEST_PASSWORD"] = Password });
            Assert.True(exitCode == 0, output);
            Assert.Contains("All steps passed.", output, StringComparison.Ordinal);
            await LoginAndOpenInboxAsync(env);

            var tokenFiles = Directory.GetFiles(Path.Combine(config, "tokens"), "*.json");
            Assert.NotEmpty(tokenFiles);
            foreach (var file in tokenFiles)
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
                var owner = await Command.CheckedAsync("stat", ["-c", "%u", file], TimeSpan.FromSeconds(10));
                Assert.Equal(ContainerUid.ToString(CultureInfo.InvariantCulture), owner.Output.Trim());
            }

            // SIGTERM, and SIGKILL after compose's 15 s: a clean stop exits 0 by itself, a killed one 137.
            Assert.Equal(0, (await docker.DockerAsync("stop", "--time", "15", ContainerName)).ExitCode);
            Assert.Equal("0", (await docker.DockerAsync("inspect", "--format", "{{.State.ExitCode}}", ContainerName)).Output.Trim());

            var authorizeRequests = env.Identity.AuthorizationCodeRequests;
            Assert.Equal(0, (await docker.DockerAsync("start", ContainerName)).ExitCode);
            await WaitHealthyAsync();
            await LoginAndOpenInboxAsync(env);
            Assert.Equal(authorizeRequests, env.Identity.AuthorizationCodeRequests);
        }
        finally
        {
            await Compose(ComposeArguments(project), "down", "--timeout", "15");
            await Command.RunAsync("rm", ["-rf", project], TimeSpan.FromSeconds(30));
        }
    }

    [SkippableFact]
    public async Task Image_LabelsAndVersion_NameTheCommitItWasBuiltFrom()
    {
        Skip.If(docker.Unavailable is not null, docker.Unavailable);

        var revision = await docker.DockerAsync("image", "inspect", "--format", "{{ index .Config.Labels \"org.opencontainers.image.revision\" }}", docker.Image);
        var version = await docker.DockerAsync("run", "--rm", "--network", "none", docker.Image, "--version");
        var user = await docker.DockerAsync("image", "inspect", "--format", "{{ .Config.User }} {{ json .Config.Healthcheck.Test }}", docker.Image);

        Assert.Equal(docker.Commit, revision.Output.Trim());
        Assert.Equal(0, version.ExitCode);
        Assert.Contains(docker.Commit, version.Output, StringComparison.Ordinal);
        Assert.Equal("1654:1654 [\"CMD\",\"/usr/local/bin/emailproxy\",\"health\"]", user.Output.Trim());
    }

    [SkippableFact]
    public async Task PrebuiltTarget_HostPublishedBinary_RunsAsTheSameImage()
    {
        Skip.If(docker.Unavailable is not null, docker.Unavailable);

        var image = await docker.BuildPrebuiltAsync();
        var version = await docker.DockerAsync("run", "--rm", "--network", "none", image, "--version");
        var user = await docker.DockerAsync("image", "inspect", "--format", "{{ .Config.User }} {{ json .Config.Healthcheck.Test }}", image);

        Assert.Equal(0, version.ExitCode);
        Assert.Contains(docker.Commit, version.Output, StringComparison.Ordinal);
        Assert.Equal("1654:1654 [\"CMD\",\"/usr/local/bin/emailproxy\",\"health\"]", user.Output.Trim());
    }

    [SkippableFact]
    public async Task Run_ConfigFolderOwnedByRoot_StopsAtOnceNamingTheChown()
    {
        Skip.If(docker.Unavailable is not null, docker.Unavailable);
        await using var env = await TestEnvironment.CreateAsync();
        var project = Directory.CreateTempSubdirectory("emailproxy-compose-").FullName;
        try
        {
            // As an operator makes it: mkdir as root, 0755; the image's user 1654 can read it but not write.
            var config = WriteContainerConfig(env, project);
            File.SetUnixFileMode(config, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            foreach (var file in Directory.GetFiles(config))
            {
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            }

            var run = await docker.DockerAsync("run", "--rm", "--network", "host", "--volume", $"{config}:/config", docker.Image);

            Assert.NotEqual(0, run.ExitCode);
            Assert.Contains("/config", run.Error, StringComparison.Ordinal);
            Assert.Contains("uid 1654", run.Error, StringComparison.Ordinal);
            Assert.Contains($"chown -R {ContainerUid}:{ContainerUid} ./config", run.Error, StringComparison.Ordinal);
            Assert.Contains($"install -d -o {ContainerUid} -g {ContainerUid} config", run.Error, StringComparison.Ordinal);
        }
        finally
        {
            await Command.RunAsync("rm", ["-rf", project], TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>
    /// The test's configuration as the container sees it: everything relative to /config (the key, tokens,
    /// tls/, the test CA), the upstream the real Dovecot, the listeners the test's ports on 127.0.0.1.
    /// </summary>
    private string WriteContainerConfig(TestEnvironment env, string project)
    {
        dovecot.Introspection.RefuseAll = false;
        dovecot.Introspection.Use(env.Identity);
        var config = Path.Combine(project, "config");
        Directory.CreateDirectory(config);
        File.Copy(env.CaFile, Path.Combine(config, "test-ca.pem"));
        var text = env.BuildConfig()
            .Replace($"token_dir = {env.TokenDirectory}", "token_dir = tokens", StringComparison.Ordinal)
            .Replace($"secret_file = {env.SecretFile}", "secret_file = emailproxy.key", StringComparison.Ordinal)
            .Replace($"imap_port = {env.Imap.Port}", $"imap_port = {dovecot.ImapsPort}", StringComparison.Ordinal)
            .Replace($"pop_port = {env.Pop.Port}", $"pop_port = {dovecot.PopsPort}", StringComparison.Ordinal)
            .Replace($"smtp_port = {env.Smtp.Port}", $"smtp_port = {dovecot.SubmissionPort}", StringComparison.Ordinal)
            .Replace($"ca_file = {env.CaFile}", "ca_file = /config/test-ca.pem\nssl = true\nstarttls = true", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(config, "emailproxy.config"), text);
        return config;
    }

    /// <summary>docker-compose with the repository's file and the test's override (host network, image, a short health interval).</summary>
    private string[] ComposeArguments(string project)
    {
        var overridePath = Path.Combine(project, "docker-compose.test.yml");
        File.WriteAllText(overridePath, $"""
            version: "3.7"
            services:
              mail-proxy:
                image: {docker.Image}
                network_mode: host
                healthcheck:
                  interval: 2s
                  timeout: 5s
                  retries: 3
            """);
        var composePath = Path.Combine(project, "docker-compose.yml");
        var lines = File.ReadAllLines(Path.Combine(DockerEngine.RepositoryRoot, "docker-compose.yml"));
        var portsAt = Array.FindIndex(lines, l => l.Trim() == "ports:");
        Assert.True(portsAt > 0, "docker-compose.yml publishes the ports");
        var published = lines.Skip(portsAt + 1).TakeWhile(l => l.TrimStart().StartsWith("- ", StringComparison.Ordinal)).ToList();
        Assert.All(published, l => Assert.Contains("\"127.0.0.1:", l, StringComparison.Ordinal));
        File.WriteAllLines(composePath, [.. lines.Take(portsAt), .. lines.Skip(portsAt + 1 + published.Count)]);
        return ["-f", composePath, "-f", overridePath,
            "--project-directory", project, "--project-name", "emailproxytest"];
    }

    private async Task Compose(string[] compose, params string[] arguments)
    {
        var result = await Command.RunAsync("docker-compose", [.. compose, .. arguments], TimeSpan.FromMinutes(2), docker.Environment);
        Assert.True(result.ExitCode == 0, $"docker-compose {string.Join(' ', arguments)}: {result}");
    }

    /// <summary>Until docker calls the container healthy (its own HEALTHCHECK, every 2 s here), at most a minute.</summary>
    private async Task WaitHealthyAsync()
    {
        var status = "";
        for (var attempt = 0; attempt < 60; attempt++)
        {
            status = (await docker.DockerAsync("inspect", "--format", "{{.State.Health.Status}}", ContainerName)).Output.Trim();
            if (status == "healthy")
            {
                return;
            }
            await Task.Delay(TimeSpan.FromSeconds(1));
        }
        var logs = await docker.DockerAsync("logs", "--tail", "50", ContainerName);
        Assert.Fail($"the container is {status}, not healthy, after a minute: {logs}");
    }

    private static async Task LoginAndOpenInboxAsync(TestEnvironment env)
    {
        using var client = new ImapClient();
        await client.ConnectAsync("127.0.0.1", env.ImapPort, SecureSocketOptions.None);
        await client.AuthenticateAsync(TestEnvironment.Account, Password);
        await client.Inbox.OpenAsync(FolderAccess.ReadOnly);
        await client.DisconnectAsync(quit: true);
    }
}
