using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;

namespace EmailProxy.Tests.TokenStore;

public sealed class MasterKeyTests : IDisposable
{
    private const string Passphrase = "correct horse battery staple";

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private string TokenDirectory => _temp.Combine("tokens");

    [Fact]
    public void Load_NoKeyFile_CreatesFile0600AndReloadsSameKey()
    {
        var path = _temp.Combine("config", "emailproxy.key");

        var created = MasterKey.Load(path, TokenDirectory, null);
        var reloaded = MasterKey.Load(path, TokenDirectory, null);

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
        var first = MasterKey.Load(_temp.Combine("one.key"), TokenDirectory, null);
        var second = MasterKey.Load(_temp.Combine("two.key"), TokenDirectory, null);

        Assert.NotEqual(first.Key, second.Key);
    }

    [Fact]
    public void Load_EnvironmentBase64Of32Bytes_UsesThoseBytesAndCreatesNoFile()
    {
        var bytes = RandomNumberGenerator.GetBytes(32);
        var path = _temp.Combine("emailproxy.key");

        var key = MasterKey.Load(path, TokenDirectory, Convert.ToBase64String(bytes));

        Assert.Equal(bytes, key.Key);
        Assert.Equal("$EMAILPROXY_SECRET", key.Source);
        Assert.Null(key.LegacyPassphraseKey);
        Assert.False(File.Exists(path));
        Assert.False(File.Exists(PassphraseKdf.FileFor(TokenDirectory)));
    }

    [Fact]
    public void Load_EnvironmentPassphrase_DerivesWithPbkdf2AndParametersStoredBesideTheTokenFolder()
    {
        var key = MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, Passphrase);

        var parametersFile = _temp.Combine("tokens.kdf.json");
        var parameters = JsonNode.Parse(File.ReadAllText(parametersFile))!;
        Assert.Equal("PBKDF2-HMAC-SHA256", (string?)parameters["algorithm"]);
        Assert.Equal(600_000, (int)parameters["iterations"]!);
        var salt = Convert.FromBase64String((string)parameters["salt"]!);
        Assert.Equal(16, salt.Length);
        Assert.Equal(Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(Passphrase), salt, 600_000, HashAlgorithmName.SHA256, 32), key.Key);
        Assert.NotEqual(SHA256.HashData(Encoding.UTF8.GetBytes(Passphrase)), key.Key);
        Assert.Equal(SHA256.HashData(Encoding.UTF8.GetBytes(Passphrase)), key.LegacyPassphraseKey);
        Assert.StartsWith("$EMAILPROXY_SECRET (a passphrase;", key.Source, StringComparison.Ordinal);
        Assert.DoesNotContain(Passphrase, key.Source, StringComparison.Ordinal);
        Assert.False(File.Exists(_temp.Combine("emailproxy.key")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(parametersFile));
        }
    }

    [Fact]
    public void Load_EnvironmentPassphraseAgain_SameKeyAndParametersKept()
    {
        var first = MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, Passphrase);
        var parameters = File.ReadAllText(PassphraseKdf.FileFor(TokenDirectory));

        var second = MasterKey.Load(_temp.Combine("other.key"), TokenDirectory + Path.DirectorySeparatorChar, Passphrase);

        Assert.Equal(first.Key, second.Key);
        Assert.Equal(parameters, File.ReadAllText(PassphraseKdf.FileFor(TokenDirectory)));
    }

    [Fact]
    public void Load_EnvironmentPassphraseForAnotherTokenFolder_OtherSaltOtherKey()
    {
        var first = MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, Passphrase);
        var second = MasterKey.Load(_temp.Combine("emailproxy.key"), _temp.Combine("other-tokens"), Passphrase);

        Assert.NotEqual(first.Key, second.Key);
    }

    [Fact]
    public void Load_EnvironmentPassphraseWithStoredParameters_UsesThemAsTheyAre()
    {
        var salt = RandomNumberGenerator.GetBytes(32);
        File.WriteAllText(PassphraseKdf.FileFor(TokenDirectory),
            $$"""{ "algorithm": "PBKDF2-HMAC-SHA256", "iterations": 100000, "salt": "{{Convert.ToBase64String(salt)}}" }""");

        var key = MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, Passphrase);

        Assert.Equal(Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(Passphrase), salt, 100_000, HashAlgorithmName.SHA256, 32), key.Key);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("")]
    [InlineData("""{ "algorithm": "argon2id", "iterations": 600000, "salt": "AAAAAAAAAAAAAAAAAAAAAA==" }""")]
    [InlineData("""{ "algorithm": "PBKDF2-HMAC-SHA256", "iterations": 2000000000, "salt": "AAAAAAAAAAAAAAAAAAAAAA==" }""")]
    [InlineData("""{ "algorithm": "PBKDF2-HMAC-SHA256", "iterations": 600000, "salt": "AAAA" }""")]
    [InlineData("""{ "algorithm": "PBKDF2-HMAC-SHA256", "iterations": 600000, "salt": "!!" }""")]
    [InlineData("""{ "algorithm": "PBKDF2-HMAC-SHA256", "iterations": 600000, "salt": null }""")]
    [InlineData("""{ "algorithm": null, "iterations": 600000, "salt": "AAAAAAAAAAAAAAAAAAAAAA==" }""")]
    public void Load_UnusableDerivationParameters_ThrowsMasterKeyExceptionAndKeepsTheFile(string content)
    {
        var path = PassphraseKdf.FileFor(TokenDirectory);
        File.WriteAllText(path, content);

        var e = Assert.Throws<MasterKeyException>(() => MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, Passphrase));

        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Passphrase, e.Message, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllText(path));
    }

    [Fact]
    public async Task Load_ManyFirstStartsAtOnce_AllGetTheWinnersKeyFromAWholeFile()
    {
        var path = _temp.Combine("config", "emailproxy.key");
        using var start = new ManualResetEventSlim();

        var loads = Enumerable.Range(0, 16).Select(_ => Task.Run(() =>
        {
            start.Wait(TestTimeout.Guard);
            return MasterKey.Load(path, TokenDirectory, null);
        })).ToArray();
        start.Set();
        var keys = await Task.WhenAll(loads);

        var fileKey = Convert.FromBase64String(File.ReadAllText(path).Trim());
        Assert.All(keys, key => Assert.Equal(fileKey, key.Key));
        Assert.Equal([path], Directory.GetFiles(_temp.Combine("config")));
    }

    [Fact]
    public async Task Load_ManyFirstStartsWithAPassphraseAtOnce_AllDeriveTheSameKey()
    {
        using var start = new ManualResetEventSlim();

        var loads = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            start.Wait(TestTimeout.Guard);
            return MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, Passphrase);
        })).ToArray();
        start.Set();
        var keys = await Task.WhenAll(loads);

        Assert.All(keys, key => Assert.Equal(keys[0].Key, key.Key));
        Assert.Equal([PassphraseKdf.FileFor(TokenDirectory)], Directory.GetFiles(_temp.Path));
    }

    [Fact]
    public async Task Load_ParametersFileLostWhileTokensNeedIt_ThrowsAndCreatesNoNewSalt()
    {
        var key = MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, Passphrase);
        var store = new TokenFileStore(TokenDirectory, key, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<TokenFileStore>.Instance);
        await store.SaveAsync(TestAccounts.Create(), new StoredTokens("access", DateTimeOffset.UtcNow.AddHours(1), "refresh", null), CancellationToken.None);
        var parameters = PassphraseKdf.FileFor(TokenDirectory);
        File.Delete(parameters);

        var error = Assert.Throws<MasterKeyException>(() => MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, Passphrase));

        Assert.Contains(parameters, error.Message, StringComparison.Ordinal);
        Assert.Contains("restore", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Passphrase, error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(parameters));
    }

    [Fact]
    public void Load_EnvironmentWins_OverExistingFile()
    {
        var path = _temp.Combine("emailproxy.key");
        var fromFile = MasterKey.Load(path, TokenDirectory, null);

        var fromEnvironment = MasterKey.Load(path, TokenDirectory, Passphrase);

        Assert.NotEqual(fromFile.Key, fromEnvironment.Key);
    }

    [Theory]
    [InlineData("this is not a key\n")]
    [InlineData("AAAA\n")]
    [InlineData("")]
    public void Load_KeyFileWithGarbage_ThrowsMasterKeyException(string content)
    {
        var path = _temp.WriteFile("emailproxy.key", content);

        var e = Assert.Throws<MasterKeyException>(() => MasterKey.Load(path, TokenDirectory, null));
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Equal(content, File.ReadAllText(path));
    }

    [Fact]
    public void FromBytes_WrongLength_Throws()
    {
        Assert.Throws<ArgumentException>(() => MasterKey.FromBytes(new byte[16]));
    }
}
