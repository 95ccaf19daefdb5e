using EmailProxy.Configuration;
using EmailProxy.Hosting;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Hosting;

/// <summary>
/// The start-up check of the folders the proxy writes: each is created when missing, and one that cannot be
/// written is one line naming it and the fix (tests run as root, where permissions do not stop writes: a
/// file standing where the folder should be does).
/// </summary>
public sealed class StateFoldersTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private ProxyConfig ConfigWith(GeneralOptions general) =>
        new(_temp.Combine("emailproxy.config"), general, new Dictionary<string, ServerOptions>(), new Dictionary<string, AccountOptions>());

    [Fact]
    public void FirstProblem_FoldersMissing_CreatesThemAndFindsNone()
    {
        var config = ConfigWith(new GeneralOptions { TokenDirectory = "state/tokens", SecretFile = "keys/emailproxy.key" });

        Assert.Null(StateFolders.FirstProblem(config));

        Assert.True(Directory.Exists(_temp.Combine("state", "tokens")));
        Assert.True(Directory.Exists(_temp.Combine("keys")));
        Assert.True(Directory.Exists(_temp.Combine("tls")));
        Assert.Empty(Directory.GetFiles(_temp.Combine("state", "tokens")));
    }

    [Fact]
    public void FirstProblem_TokenFolderIsAFile_NamesTheFolderAndTheFix()
    {
        _temp.WriteFile("tokens", "not a folder");
        var config = ConfigWith(new GeneralOptions());

        var problem = StateFolders.FirstProblem(config);

        Assert.NotNull(problem);
        Assert.StartsWith($"{_temp.Combine("tokens")} cannot be written by this process (uid ", problem, StringComparison.Ordinal);
        Assert.Contains("point token_dir and secret_file at a folder it owns", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Of_LocalTlsOffOrConfiguredPair_LeavesTlsOut()
    {
        Assert.DoesNotContain(_temp.Combine("tls"), StateFolders.Of(ConfigWith(new GeneralOptions { LocalTls = LocalTlsMode.Off })));
        Assert.DoesNotContain(_temp.Combine("tls"), StateFolders.Of(ConfigWith(new GeneralOptions { LocalCertificate = "c.pem", LocalKey = "k.pem" })));
        Assert.Equal([_temp.Path, _temp.Combine("tokens"), _temp.Combine("tls")], StateFolders.Of(ConfigWith(new GeneralOptions())));
    }

    public void Dispose() => _temp.Dispose();
}
