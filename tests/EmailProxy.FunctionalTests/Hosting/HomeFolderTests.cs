using System.Net;
using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.Hosting;

/// <summary>
/// The proxy keeps its state where the configuration says (token_dir, secret_file, tls_dir) and nowhere else: in a
/// container the home folder is not a volume, and under systemd only the state folder can be written.
/// </summary>
public sealed class HomeFolderTests
{
    [Fact]
    public async Task Run_StatusPageWithItsForms_WritesNothingIntoTheHomeFolderAndWarnsOfNoKeyRing()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var home = Directory.CreateDirectory(Path.Combine(env.Directory, "home")).FullName;
        var proxy = await env.StartProxyAsync(new Dictionary<string, string?> { ["HOME"] = home });

        // The page's forms carry anti-forgery tokens, which ASP.NET Core's data protection makes.
        using var http = new HttpClient(new HttpClientHandler { UseProxy = false }) { Timeout = env.SafetyTimeout };
        using var page = await http.GetAsync(new Uri(env.RedirectUri + "/"));
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("__csrf", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, await proxy.StopAsync());

        var written = Directory.GetFileSystemEntries(home, "*", SearchOption.AllDirectories);
        Assert.True(written.Length == 0, "written into the home folder: " + string.Join(", ", written.Select(path => Path.GetRelativePath(home, path))));
        Assert.DoesNotContain(proxy.Output, line => line.Contains("DataProtection", StringComparison.Ordinal));
    }
}
