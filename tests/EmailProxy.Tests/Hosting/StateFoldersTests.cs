using EmailProxy.Configuration;
using EmailProxy.Hosting;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Hosting;

/// <summary>
/// The start-up check of the folders the proxy must write before it can serve (the key's while there is no key,
/// tls/ while there is no CA): each is created when missing, and one that cannot be written is one line naming it
/// and the fix (tests run as root, where permissions do not stop writes: a file standing where the folder should
/// be does). The token folder is left to the running proxy (it serves from memory and /readyz names it).
/// </summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
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

        Assert.True(Directory.Exists(_temp.Combine("keys")));
        Assert.True(Directory.Exists(_temp.Combine("tls")));
        Assert.Empty(Directory.GetFiles(_temp.Combine("keys")));
        // tls/ will hold private keys: made 0700, as the CA's own code would make it.
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(_temp.Combine("tls")));
    }

    [Fact]
    public void FirstProblem_KeyFolderIsAFile_NamesTheFolderAndTheFix()
    {
        _temp.WriteFile("keys", "not a folder");
        var config = ConfigWith(new GeneralOptions { SecretFile = "keys/emailproxy.key" });

        var problem = StateFolders.FirstProblem(config);

        Assert.NotNull(problem);
        Assert.StartsWith($"{_temp.Combine("keys")} cannot be written by this process (uid ", problem, StringComparison.Ordinal);
        Assert.Contains("point secret_file and token_dir at a folder it owns", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void FirstProblem_TokenFolderIsAFile_LeftToTheRunningProxy()
    {
        _temp.WriteFile("tokens", "not a folder");

        Assert.Null(StateFolders.FirstProblem(ConfigWith(new GeneralOptions())));
    }

    [Fact]
    public void Of_KeyAndCaAlreadyMade_NothingToWrite()
    {
        _temp.WriteFile("emailproxy.key", "a key");
        Directory.CreateDirectory(_temp.Combine("tls"));
        _temp.WriteFile(Path.Combine("tls", "ca.pem"), "a CA");

        Assert.Empty(StateFolders.Of(ConfigWith(new GeneralOptions())));
    }

    [Fact]
    public void Of_LocalTlsOffOrConfiguredPair_LeavesTlsOut()
    {
        Assert.DoesNotContain(_temp.Combine("tls"), StateFolders.Of(ConfigWith(new GeneralOptions { LocalTls = LocalTlsMode.Off })));
        Assert.DoesNotContain(_temp.Combine("tls"), StateFolders.Of(ConfigWith(new GeneralOptions { LocalCertificate = "c.pem", LocalKey = "k.pem" })));
        Assert.Equal([_temp.Path, _temp.Combine("tls")], StateFolders.Of(ConfigWith(new GeneralOptions())));
    }

    public void Dispose() => _temp.Dispose();
}
