using System.Net;
using System.Net.Sockets;
using EmailProxy.Configuration;
using EmailProxy.Hosting;
using EmailProxy.Tests.TestSupport;
using EmailProxy.Web;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.Web;

/// <summary>
/// What <c>/readyz</c> names: an unbound mail listener, a token folder that takes no new file, a
/// configuration file that no longer reads; and that it answers any Host, as /healthz does.
/// </summary>
public sealed class ReadinessEndpointTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private const string ValidConfig = """
        [general]
        token_dir = tokens

        [server s]
        imap_host = imap.example.com

        [account a@example.com]
        client_id = id
        client_secret = s3cret-value-Zq7

        """;

    private ProxyConfig WriteAndRead(string text = ValidConfig)
    {
        var path = _temp.WriteFile("emailproxy.config", text);
        return ConfigReader.ReadFile(path).Config ?? throw new InvalidOperationException("the test's configuration does not read");
    }

    [Fact]
    public void Problems_AllWell_None()
    {
        var config = WriteAndRead();

        Assert.Empty(new ReadinessEndpoint(config).Problems());
        // The probe leaves nothing behind, and the token folder is made only by the store.
        Assert.Equal([_temp.Combine("emailproxy.config")], Directory.GetFileSystemEntries(_temp.Path));
    }

    /// <summary>
    /// A shared token store (Redis) that cannot be reached fails every replica alike: it is named, but it does not make
    /// the proxy unready, so the balancer keeps sending logins whose access token is in memory (they work).
    /// </summary>
    [Fact]
    public async Task Degradations_RedisNotReached_NamedButNotAProblem()
    {
        var config = WriteAndRead();
        await using var redis = new EmailProxy.Redis.RedisConnection("127.0.0.1:1,password=red-Secret-9", null, NullLogger<EmailProxy.Redis.RedisConnection>.Instance);
        var readiness = new ReadinessEndpoint(config, redis: redis);

        Assert.Empty(readiness.Problems());
        var degraded = Assert.Single(readiness.Degradations());
        Assert.Contains("Redis at 127.0.0.1:1", degraded, StringComparison.Ordinal);
        Assert.DoesNotContain("red-Secret-9", degraded, StringComparison.Ordinal);
    }

    [Fact]
    public void Degradations_FileStore_None()
    {
        Assert.Empty(new ReadinessEndpoint(WriteAndRead()).Degradations());
    }

    [Fact]
    public async Task Problems_MailListenerPortTaken_NamesTheListenerItsAddressAndWhy()
    {
        var config = WriteAndRead();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var endPoint = (IPEndPoint)taken.LocalEndpoint;
        await using var services = new ServiceCollection().BuildServiceProvider();
        var smtp = new MailListener("SMTP", endPoint, listen => listen.Run(_ => Task.CompletedTask), services,
            new SocketTransportFactory(Options.Create(new SocketTransportOptions()), NullLoggerFactory.Instance), NullLoggerFactory.Instance);
        await using var listeners = new MailListeners([smtp], new FakeTimeProvider(), NullLogger<MailListeners>.Instance);
        await listeners.StartedAsync(CancellationToken.None).Guarded();

        var problem = Assert.Single(new ReadinessEndpoint(config, listeners).Problems());

        Assert.Equal($"the SMTP listener on {endPoint} is not bound: the port is in use by another program (tried again every 5 s)", problem);
    }

    [Fact]
    public void TokenFolderProblem_FolderReplacedByAFile_NamesTheFolder()
    {
        var folder = _temp.WriteFile("tokens", "not a folder");

        var problem = ReadinessEndpoint.TokenFolderProblem(folder);

        Assert.Equal($"the token folder {folder} cannot be made or written, so no sign-in or refresh can be saved: {folder} is a file, not a folder", problem);
    }

    [Fact]
    public void TokenFolderProblem_FolderUnderAFile_NamesTheFolder()
    {
        _temp.WriteFile("blocker", "a file where a folder should be");
        var folder = _temp.Combine("blocker", "tokens");

        Assert.StartsWith($"the token folder {folder} cannot be made or written, so no sign-in or refresh can be saved: ", ReadinessEndpoint.TokenFolderProblem(folder), StringComparison.Ordinal);
    }

    [Fact]
    public void TokenFolderProblem_NotWritable_NamesTheFolder()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var folder = _temp.Combine("tokens");
        Directory.CreateDirectory(folder);
        File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        try
        {
            var problem = ReadinessEndpoint.TokenFolderProblem(folder);

            // As root, mode bits do not stop a write: then the folder does take files, and the probe says so.
            if (Environment.UserName == "root")
            {
                Assert.Null(problem);
            }
            else
            {
                Assert.StartsWith($"the token folder {folder} does not take new files, so no sign-in or refresh can be saved: ", problem, StringComparison.Ordinal);
            }
            Assert.Empty(Directory.GetFileSystemEntries(folder));
        }
        finally
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    [Fact]
    public void Problems_ConfigFileBrokenAfterStart_NamesSectionAndKeyButNoValue()
    {
        var config = WriteAndRead();
        var readiness = new ReadinessEndpoint(config);
        Assert.Empty(readiness.Problems());

        File.WriteAllText(config.ConfigPath, ValidConfig.Replace("client_id = id", "client_id = id\nserver = nosuch", StringComparison.Ordinal));
        File.SetLastWriteTimeUtc(config.ConfigPath, DateTime.UtcNow.AddSeconds(5));
        var problem = Assert.Single(readiness.Problems());

        Assert.Equal($"the configuration file {config.ConfigPath} has errors, so the proxy would not start with it (it runs on the last one it read without errors): [account a@example.com] server: there is no [server nosuch] section", problem);
        Assert.DoesNotContain("s3cret-value-Zq7", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_ConfigLineWithoutEquals_NamesTheLineNumberNotItsText()
    {
        var config = WriteAndRead();
        var readiness = new ReadinessEndpoint(config);
        Assert.Empty(readiness.Problems());

        // An edit that left out the '=' of a secret: the INI reader's own message would quote the line.
        File.WriteAllText(config.ConfigPath, "client_secret Abc~SeCrEt-Line-Zq9\n" + ValidConfig);
        File.SetLastWriteTimeUtc(config.ConfigPath, DateTime.UtcNow.AddSeconds(5));
        var problem = Assert.Single(readiness.Problems());

        Assert.Contains("cannot be read as an INI file: line 1 is neither a [section], a key = value, nor a comment", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("SeCrEt", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_ConfigFileGone_NamesIt()
    {
        var config = WriteAndRead();
        File.Delete(config.ConfigPath);

        var problem = Assert.Single(new ReadinessEndpoint(config).Problems());

        Assert.Contains("does not exist", problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_ForeignHost_AnswersLikeHealthz()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(host.Http.BaseAddress!, ReadinessEndpoint.Path));
        request.Headers.Host = "10.1.2.3:18089";

        using var response = await host.Http.SendAsync(request);

        // The test host's configuration file does not exist on disk: /readyz says so, with 503 rather than 421.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        var body = await response.Content.ReadAsStringAsync();
        Assert.StartsWith("not ready:\n- the configuration file ", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Get_AllWell_200Ready()
    {
        await using var host = await WebEndpointsHost.StartAsync(TestAccounts.Create());
        File.WriteAllText(host.Config.ConfigPath, ValidConfig);

        using var response = await host.Http.GetAsync(new Uri(host.Http.BaseAddress!, ReadinessEndpoint.Path));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ready\n", await response.Content.ReadAsStringAsync());
    }
}
