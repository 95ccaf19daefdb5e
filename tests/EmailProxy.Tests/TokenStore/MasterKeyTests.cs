using System.Security.Cryptography;
using System.Text;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;

namespace EmailProxy.Tests.TokenStore;

public sealed class MasterKeyTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Load_NoKeyFile_CreatesFile0600AndReloadsSameKey()
    {
        var path = _temp.Combine("config", "emailproxy.key");

        var created = MasterKey.Load(path, null);
        var reloaded = MasterKey.Load(path, null);

        Assert.Equal(MasterKey.Length, created.Key.Length);
        Assert.Equal(created.Key, reloaded.Key);
        Assert.Equal(path, reloaded.Source);
        Assert.Equal(created.Key, Convert.FromBase64String(File.ReadAllText(path).Trim()));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public void Load_TwoNewFiles_DifferentKeys()
    {
        var first = MasterKey.Load(_temp.Combine("one.key"), null);
        var second = MasterKey.Load(_temp.Combine("two.key"), null);

        Assert.NotEqual(first.Key, second.Key);
    }

    [Fact]
    public void Load_EnvironmentBase64Of32Bytes_UsesThoseBytesAndCreatesNoFile()
    {
        var bytes = RandomNumberGenerator.GetBytes(32);
        var path = _temp.Combine("emailproxy.key");

        var key = MasterKey.Load(path, Convert.ToBase64String(bytes));

        Assert.Equal(bytes, key.Key);
        Assert.Equal("$EMAILPROXY_SECRET", key.Source);
        Assert.False(File.Exists(path));
    }

    [Fact]
    public void Load_EnvironmentPassphrase_HashesTo32Bytes()
    {
        var key = MasterKey.Load(_temp.Combine("emailproxy.key"), "correct horse battery staple");

        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes("correct horse battery staple")), key.Key);
        Assert.Equal(key.Key, MasterKey.Load(_temp.Combine("other.key"), "correct horse battery staple").Key);
    }

    [Fact]
    public void Load_EnvironmentWins_OverExistingFile()
    {
        var path = _temp.Combine("emailproxy.key");
        var fromFile = MasterKey.Load(path, null);

        var fromEnvironment = MasterKey.Load(path, "passphrase");

        Assert.NotEqual(fromFile.Key, fromEnvironment.Key);
    }

    [Theory]
    [InlineData("this is not a key\n")]
    [InlineData("AAAA\n")]
    [InlineData("")]
    public void Load_KeyFileWithGarbage_ThrowsMasterKeyException(string content)
    {
        var path = _temp.WriteFile("emailproxy.key", content);

        var e = Assert.Throws<MasterKeyException>(() => MasterKey.Load(path, null));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllText(path));
    }

    [Fact]
    public void FromBytes_WrongLength_Throws()
    {
        Assert.Throws<ArgumentException>(() => MasterKey.FromBytes(new byte[16]));
    }
}
