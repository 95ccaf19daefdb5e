using System.Security.Cryptography;
using System.Text.Json.Nodes;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace EmailProxy.Tests.TokenStore;

public sealed class TokenFileStoreTests : IDisposable
{
    private const string AccessToken = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.access-token-SECRET-1";
    private const string RefreshToken = "0.AAAA-refresh-token-SECRET-1";

    private readonly TempDirectory _temp = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2025, 3, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly MasterKey _key = MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32));
    private readonly AccountOptions _account = TestAccounts.Create("Sales@Example.com");

    public void Dispose() => _temp.Dispose();

    private string TokenDirectory => _temp.Combine("tokens");

    private TokenFileStore NewStore(MasterKey? key = null) =>
        new(TokenDirectory, key ?? _key, _time, NullLogger<TokenFileStore>.Instance);

    private StoredTokens Tokens(string access = AccessToken, string refresh = RefreshToken) =>
        new(access, _time.GetUtcNow().AddHours(1), refresh, _time.GetUtcNow());

    [Fact]
    public async Task LoadAsync_AfterSave_ReturnsSameTokens()
    {
        var store = NewStore();
        var tokens = Tokens();

        await store.SaveAsync(_account, tokens, CancellationToken.None);
        var loaded = await NewStore().LoadAsync(_account, CancellationToken.None);

        Assert.Equal(tokens, loaded);
    }

    [Fact]
    public async Task LoadAsync_NoFile_ReturnsNull()
    {
        Assert.Null(await NewStore().LoadAsync(_account, CancellationToken.None));
    }

    [Fact]
    public async Task LoadAsync_AccountNameInOtherCase_FindsSameFile()
    {
        await NewStore().SaveAsync(_account, Tokens(), CancellationToken.None);

        var loaded = await NewStore().LoadAsync(TestAccounts.Create("sales@example.COM"), CancellationToken.None);

        Assert.NotNull(loaded);
        Assert.Equal(RefreshToken, loaded.RefreshToken);
    }

    [Fact]
    public async Task SaveAsync_OnUnix_FileIs0600AndFolder0700()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }
        var store = NewStore();

        await store.SaveAsync(_account, Tokens(), CancellationToken.None);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.PathFor(_account.Name)));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(TokenDirectory));
    }

    [Fact]
    public async Task SaveAsync_Again_ReplacesFileAndLeavesNoTemporary()
    {
        var store = NewStore();
        await store.SaveAsync(_account, Tokens(), CancellationToken.None);

        await store.SaveAsync(_account, Tokens("access-2", "refresh-2"), CancellationToken.None);

        var loaded = await NewStore().LoadAsync(_account, CancellationToken.None);
        Assert.Equal("access-2", loaded?.AccessToken);
        Assert.Equal("refresh-2", loaded?.RefreshToken);
        var file = Assert.Single(Directory.GetFiles(TokenDirectory));
        Assert.Equal(store.PathFor(_account.Name), file);
        Assert.Empty(Directory.GetFiles(TokenDirectory, "*.tmp"));
    }

    [Fact]
    public async Task SaveAsync_File_HasReadableMetadataAndNoTokenText()
    {
        var store = NewStore();
        var expires = _time.GetUtcNow().AddHours(1);

        await store.SaveAsync(_account, Tokens(), CancellationToken.None);

        var path = store.PathFor(_account.Name);
        Assert.Equal(Path.Combine(TokenDirectory, "sales@example.com.json"), path);
        var text = File.ReadAllText(path);
        Assert.DoesNotContain(AccessToken, text, StringComparison.Ordinal);
        Assert.DoesNotContain(RefreshToken, text, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", text, StringComparison.Ordinal);
        var json = JsonNode.Parse(text)!;
        Assert.Equal("Sales@Example.com", (string?)json["account"]);
        Assert.Equal("Sales@Example.com", (string?)json["username"]);
        Assert.Equal(TestAccounts.Scope, (string?)json["scope"]);
        Assert.Equal(expires, json["access_token_expires"]!.GetValue<DateTimeOffset>());
        Assert.NotNull(json["secrets"]);
    }

    [Fact]
    public async Task SaveAsync_AccountNameWithPathCharacters_StaysInFolder()
    {
        var store = NewStore();
        var account = TestAccounts.Create("../../etc/evil");

        await store.SaveAsync(account, Tokens(), CancellationToken.None);

        Assert.Equal(TokenDirectory, Path.GetDirectoryName(store.PathFor(account.Name)));
        Assert.NotNull(await NewStore().LoadAsync(account, CancellationToken.None));
    }

    public static TheoryData<string> Damages => ["truncated", "garbage", "empty", "tampered", "not-base64", "short-blob", "future-format"];

    [Theory]
    [MemberData(nameof(Damages))]
    public async Task LoadAsync_DamagedFile_ReturnsNullAndNextSaveKeepsCopy(string damage)
    {
        var store = NewStore();
        await store.SaveAsync(_account, Tokens(), CancellationToken.None);
        var path = store.PathFor(_account.Name);
        var original = File.ReadAllText(path);
        var damaged = Damage(original, damage);
        File.WriteAllText(path, damaged);

        var reader = NewStore();
        var loaded = await reader.LoadAsync(_account, CancellationToken.None);
        Assert.Null(loaded);

        await reader.SaveAsync(_account, Tokens("access-2", "refresh-2"), CancellationToken.None);
        var copy = Assert.Single(Directory.GetFiles(TokenDirectory, "*.damaged-*"));
        Assert.StartsWith(path + ".damaged-", copy, StringComparison.Ordinal);
        Assert.Equal(damaged, File.ReadAllText(copy));
        Assert.Equal("refresh-2", (await NewStore().LoadAsync(_account, CancellationToken.None))?.RefreshToken);
    }

    private static string Damage(string json, string damage)
    {
        switch (damage)
        {
            case "truncated":
                return json[..(json.Length / 2)];
            case "garbage":
                return "\u0001\u0002 this is not json at all";
            case "empty":
                return "";
            case "future-format":
                var future = JsonNode.Parse(json)!;
                future["format"] = 99;
                return future.ToJsonString();
            default:
                var node = JsonNode.Parse(json)!;
                var blob = Convert.FromBase64String((string)node["secrets"]!);
                node["secrets"] = damage switch
                {
                    "tampered" => Convert.ToBase64String(Flip(blob, blob.Length - 1)),
                    "not-base64" => "!!not base64!!",
                    _ => Convert.ToBase64String(blob[..10]),
                };
                return node.ToJsonString();
        }
    }

    private static byte[] Flip(byte[] blob, int index)
    {
        var copy = (byte[])blob.Clone();
        copy[index] ^= 0x01;
        return copy;
    }

    [Fact]
    public async Task LoadAsync_WrongMasterKey_ReturnsNullAndNextSaveKeepsCopy()
    {
        await NewStore().SaveAsync(_account, Tokens(), CancellationToken.None);
        var other = NewStore(MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32)));

        Assert.Null(await other.LoadAsync(_account, CancellationToken.None));

        await other.SaveAsync(_account, Tokens("access-2", "refresh-2"), CancellationToken.None);
        Assert.Single(Directory.GetFiles(TokenDirectory, "*.damaged-*"));
    }

    [Fact]
    public async Task LoadAsync_FileCopiedUnderOtherAccountName_ReturnsNull()
    {
        var store = NewStore();
        var other = TestAccounts.Create("boss@example.com");
        await store.SaveAsync(_account, Tokens(), CancellationToken.None);
        File.Copy(store.PathFor(_account.Name), store.PathFor(other.Name));

        Assert.Null(await NewStore().LoadAsync(other, CancellationToken.None));
        Assert.NotNull(await NewStore().LoadAsync(_account, CancellationToken.None));
    }

    [Fact]
    public async Task SaveAsync_AfterGoodLoad_KeepsNoDamagedCopy()
    {
        var store = NewStore();
        await store.SaveAsync(_account, Tokens(), CancellationToken.None);
        Assert.NotNull(await store.LoadAsync(_account, CancellationToken.None));

        await store.SaveAsync(_account, Tokens("access-2", "refresh-2"), CancellationToken.None);

        Assert.Empty(Directory.GetFiles(TokenDirectory, "*.damaged-*"));
    }

    private const string LegacyPassphrase = "legacy passphrase of the tests";

    /// <summary>Copies the token folder written by the version before the key derivation (tests/data/legacy-token-folder).</summary>
    private string CopyLegacyFolder()
    {
        System.IO.Directory.CreateDirectory(TokenDirectory);
        var target = Path.Combine(TokenDirectory, "user@example.com.json");
        File.Copy(Path.Combine(AppContext.BaseDirectory, "data", "legacy-token-folder", "user@example.com.json"), target);
        return target;
    }

    [Fact]
    public async Task Open_FolderWrittenUnderThePassphrasesSha256_TokensSurviveAndTheFileIsRewrittenUnderTheDerivedKey()
    {
        var path = CopyLegacyFolder();
        var before = JsonNode.Parse(File.ReadAllText(path))!;
        var key = MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, LegacyPassphrase);
        var log = new RecordingLoggerProvider();

        var store = TokenFileStore.Open(TokenDirectory, key, _time, log.CreateLogger<TokenFileStore>());

        var account = TestAccounts.Create("user@example.com");
        var loaded = await store.LoadAsync(account, CancellationToken.None);
        Assert.Equal("fake-at-legacy-access-token", loaded?.AccessToken);
        Assert.Equal("fake-rt-legacy-refresh-token", loaded?.RefreshToken);
        // Rewritten: the derived key alone (no old key to fall back on) opens it, and the metadata is unchanged.
        var derivedOnly = new TokenFileStore(TokenDirectory, MasterKey.FromBytes(key.Key), _time, NullLogger<TokenFileStore>.Instance);
        Assert.Equal(loaded, await derivedOnly.LoadAsync(account, CancellationToken.None));
        var after = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.NotEqual((string?)before["secrets"], (string?)after["secrets"]);
        foreach (var name in new[] { "format", "account", "username", "flow", "scope", "access_token_expires", "refresh_token_rotated", "saved" })
        {
            Assert.Equal(before[name]!.ToJsonString(), after[name]!.ToJsonString());
        }
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        var entry = Assert.Single(log.Entries);
        Assert.Equal((LogLevel.Information, "TokenFileMigrated"), (entry.Level, entry.EventId.Name));
        Assert.Contains(path, entry.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("fake-", entry.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(LegacyPassphrase, entry.Message, StringComparison.Ordinal);
        Assert.Equal([path], System.IO.Directory.GetFiles(TokenDirectory));

        // The second start finds nothing to do.
        var migrated = File.ReadAllText(path);
        var again = new RecordingLoggerProvider();
        TokenFileStore.Open(TokenDirectory, MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, LegacyPassphrase), _time, again.CreateLogger<TokenFileStore>());
        Assert.Empty(again.Entries);
        Assert.Equal(migrated, File.ReadAllText(path));
    }

    [Fact]
    public async Task LoadAsync_FileWrittenUnderThePassphrasesSha256NotYetRewritten_IsRead()
    {
        CopyLegacyFolder();
        var key = MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, LegacyPassphrase);

        var loaded = await new TokenFileStore(TokenDirectory, key, _time, NullLogger<TokenFileStore>.Instance)
            .LoadAsync(TestAccounts.Create("user@example.com"), CancellationToken.None);

        Assert.Equal("fake-rt-legacy-refresh-token", loaded?.RefreshToken);
    }

    [Theory]
    [InlineData("account", null)]
    [InlineData("secrets", null)]
    [InlineData("format", 2)]
    public void Open_HandEditedLegacyFile_LeftAsItIsWithoutFailingTheStart(string property, object? value)
    {
        var path = CopyLegacyFolder();
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        json[property] = value is int number ? JsonValue.Create(number) : null;
        File.WriteAllText(path, json.ToJsonString());
        var key = MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, LegacyPassphrase);

        TokenFileStore.Open(TokenDirectory, key, _time, NullLogger<TokenFileStore>.Instance);

        Assert.Equal(json.ToJsonString(), File.ReadAllText(path));
    }

    [Fact]
    public void Open_FileUnderAnotherKey_IsLeftAsItIs()
    {
        // The parameters exist (made before the file arrived), so the key loads; the file is not its.
        var key = MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, "another passphrase");
        var path = CopyLegacyFolder();
        var original = File.ReadAllText(path);
        var log = new RecordingLoggerProvider();

        TokenFileStore.Open(TokenDirectory, key, _time, log.CreateLogger<TokenFileStore>());

        Assert.Equal(original, File.ReadAllText(path));
        Assert.Empty(log.Entries);
    }

    [Fact]
    public void Load_AnotherPassphraseOverALegacyFolderWithoutParameters_RefusesInsteadOfANewSalt()
    {
        var path = CopyLegacyFolder();

        var error = Assert.Throws<MasterKeyException>(() => MasterKey.Load(_temp.Combine("emailproxy.key"), TokenDirectory, "another passphrase"));

        Assert.Contains(path, error.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(PassphraseKdf.FileFor(TokenDirectory)));
    }

    [Fact]
    public async Task RemoveStaleTemporaryFiles_LeftByAnEarlierProcess_RemovedAndLogged()
    {
        await NewStore().SaveAsync(_account, Tokens(), CancellationToken.None);
        var stale = Path.Combine(TokenDirectory, "sales@example.com.json.00112233aabbccdd.tmp");
        File.WriteAllText(stale, "{ \"format\": 1, \"acc");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-1));
        var staleKey = _temp.Combine("emailproxy.key.00112233aabbccdd.tmp");
        File.WriteAllText(staleKey, "a key never used");
        File.SetLastWriteTimeUtc(staleKey, DateTime.UtcNow.AddHours(-1));
        var inFlight = Path.Combine(TokenDirectory, "other@example.com.json.4455667788990011.tmp");
        File.WriteAllText(inFlight, "a write of this process");
        var log = new RecordingLoggerProvider();
        var store = TokenFileStore.Open(TokenDirectory, _key, _time, log.CreateLogger<TokenFileStore>());

        store.RemoveStaleTemporaryFiles(_temp.Combine("emailproxy.key"));

        Assert.False(File.Exists(stale));
        Assert.False(File.Exists(staleKey));
        Assert.True(File.Exists(inFlight), "a temporary file written since this process started is not a leftover");
        File.Delete(inFlight);
        Assert.Equal([store.PathFor(_account.Name)], System.IO.Directory.GetFiles(TokenDirectory));
        Assert.Contains(log.Entries, e => e.EventId.Name == "StaleTemporaryFileRemoved" && e.Message.Contains(stale, StringComparison.Ordinal));
        Assert.Equal(RefreshToken, (await store.LoadAsync(_account, CancellationToken.None))?.RefreshToken);
    }

    [Fact]
    public void Open_TokenFolderIsAFile_ReturnsAStoreWhoseSavesFailLater()
    {
        File.WriteAllText(TokenDirectory, "not a folder");
        var log = new RecordingLoggerProvider();

        var store = TokenFileStore.Open(TokenDirectory, MasterKey.Load(_temp.Combine("emailproxy.key"), _temp.Combine("elsewhere"), LegacyPassphrase), _time, log.CreateLogger<TokenFileStore>());

        Assert.Equal(TokenDirectory, store.Directory);
        Assert.Empty(log.Entries);
        Assert.Equal("not a folder", File.ReadAllText(TokenDirectory));
    }

    [Fact]
    public void StoredTokens_ToString_ShowsNoToken()
    {
        var text = Tokens().ToString();

        Assert.DoesNotContain(AccessToken, text, StringComparison.Ordinal);
        Assert.DoesNotContain(RefreshToken, text, StringComparison.Ordinal);
        Assert.DoesNotContain("SECRET", text, StringComparison.Ordinal);
    }

    /// <summary>Kate with a Kelvin sign (U+212A) for the K: ToLowerInvariant makes it "kate".</summary>
    private const string KelvinKate = "\u212Aate@example.com";

    /// <summary>The key tests/data/casefold-token-folder was written under (its README tells how).</summary>
    private static readonly MasterKey CaseFoldFolderKey = MasterKey.FromBytes([.. Enumerable.Range(0, 32).Select(i => (byte)i)]);

    private void CopyCaseFoldFolder()
    {
        System.IO.Directory.CreateDirectory(TokenDirectory);
        foreach (var file in System.IO.Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "data", "casefold-token-folder"), "*.json"))
        {
            var copy = Path.Combine(TokenDirectory, Path.GetFileName(file));
            File.Copy(file, copy);
            if (!OperatingSystem.IsWindows())
            {
                // As the proxy wrote them (a checkout gives 0644).
                File.SetUnixFileMode(copy, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
        }
    }

    [Fact]
    public void PathFor_KelvinSignAndLetterK_NameTwoFiles()
    {
        var store = NewStore();

        Assert.NotEqual(store.PathFor(KelvinKate), store.PathFor("kate@example.com"));
    }

    [Theory]
    [InlineData("\u00C9lodie@example.com", "\u00E9lodie@example.com")]
    [InlineData("Sales@Example.com", "sales@example.com")]
    [InlineData("\u00DCBER@example.com", "\u00FCber@example.com")]
    public void PathFor_NamesTheConfigurationTakesForOneAccount_NameOneFile(string name, string other)
    {
        Assert.Equal(name, other, ignoreCase: true);

        Assert.Equal(NewStore().PathFor(name), NewStore().PathFor(other));
    }

    [Fact]
    public async Task LoadAsync_NonAsciiAccountWrittenInAnotherCase_FindsItsTokens()
    {
        await NewStore().SaveAsync(TestAccounts.Create("\u00C9lodie@example.com"), Tokens(refresh: "elodie-refresh"), CancellationToken.None);

        var loaded = await NewStore().LoadAsync(TestAccounts.Create("\u00E9lodie@example.com"), CancellationToken.None);

        Assert.Equal("elodie-refresh", loaded?.RefreshToken);
    }

    [Fact]
    public void PathFor_NonAsciiName_EscapesEveryByteAndFoldsOnlyAscii()
    {
        var store = NewStore();

        Assert.Equal("%E2%84%AAate@example.com.json", Path.GetFileName(store.PathFor("\u212AATE@Example.COM")));
        Assert.Equal("%C3%89lodie@example.com.json", Path.GetFileName(store.PathFor("\u00C9lodie@example.com")));
        Assert.Equal("%2E.%2Fx%25.json", Path.GetFileName(store.PathFor("../x%")));
    }

    [Fact]
    public async Task SaveAsync_KelvinSignAccountAndLetterKAccount_KeepTheirOwnTokens()
    {
        var kelvin = TestAccounts.Create(KelvinKate);
        var plain = TestAccounts.Create("kate@example.com");
        await NewStore().SaveAsync(kelvin, Tokens(refresh: "kelvin-refresh"), CancellationToken.None);
        await NewStore().SaveAsync(plain, Tokens(refresh: "plain-refresh"), CancellationToken.None);

        Assert.Equal("kelvin-refresh", (await NewStore().LoadAsync(kelvin, CancellationToken.None))?.RefreshToken);
        Assert.Equal("plain-refresh", (await NewStore().LoadAsync(plain, CancellationToken.None))?.RefreshToken);
    }

    [Fact]
    public async Task Open_FolderWrittenBeforeTheFixedCaseMapping_RenamesTheFilesAndTheirTokensLoad()
    {
        CopyCaseFoldFolder();
        var log = new RecordingLoggerProvider();

        var store = TokenFileStore.Open(TokenDirectory, CaseFoldFolderKey, _time, log.CreateLogger<TokenFileStore>());

        Assert.Equal(
            ["%C3%89lodie@example.com.json", "%E2%84%AAate@example.com.json"],
            System.IO.Directory.GetFiles(TokenDirectory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Equal("fake-rt-casefold-kate", (await store.LoadAsync(TestAccounts.Create(KelvinKate), CancellationToken.None))?.RefreshToken);
        Assert.Equal("fake-rt-casefold-elodie", (await store.LoadAsync(TestAccounts.Create("\u00C9lodie@example.com"), CancellationToken.None))?.RefreshToken);
        // The letter-k account, which shared the Kelvin account's file before, has none of its tokens.
        Assert.Null(await store.LoadAsync(TestAccounts.Create("kate@example.com"), CancellationToken.None));
        Assert.Equal(2, log.Entries.Count(e => e.EventId.Name == "TokenFileRenamed"));
        Assert.Contains(log.Entries, e => e.Message.Contains(Path.Combine(TokenDirectory, "kate@example.com.json"), StringComparison.Ordinal));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(store.PathFor(KelvinKate)));
        }

        // Saved anew, the file stays where it is, and it is read by the next start without a rename.
        await store.SaveAsync(TestAccounts.Create(KelvinKate), Tokens(refresh: "after-migration"), CancellationToken.None);
        var again = new RecordingLoggerProvider();
        var restarted = TokenFileStore.Open(TokenDirectory, CaseFoldFolderKey, _time, again.CreateLogger<TokenFileStore>());
        Assert.Empty(again.Entries);
        Assert.Equal("after-migration", (await restarted.LoadAsync(TestAccounts.Create(KelvinKate), CancellationToken.None))?.RefreshToken);
    }

    [Fact]
    public async Task Open_RenameInterruptedAfterItsLink_FinishesIt()
    {
        CopyCaseFoldFolder();
        var oldPath = Path.Combine(TokenDirectory, "kate@example.com.json");
        var newPath = NewStore(CaseFoldFolderKey).PathFor(KelvinKate);
        File.Copy(oldPath, newPath);
        var log = new RecordingLoggerProvider();

        var store = TokenFileStore.Open(TokenDirectory, CaseFoldFolderKey, _time, log.CreateLogger<TokenFileStore>());

        Assert.False(File.Exists(oldPath));
        Assert.Equal("fake-rt-casefold-kate", (await store.LoadAsync(TestAccounts.Create(KelvinKate), CancellationToken.None))?.RefreshToken);
        Assert.DoesNotContain(log.Entries, e => e.Level >= LogLevel.Warning);
    }

    [Fact]
    public async Task Open_OldAndNewNameBothExist_NeitherIsOverwrittenAndTheNewOneIsUsed()
    {
        CopyCaseFoldFolder();
        var kelvin = TestAccounts.Create(KelvinKate);
        var oldPath = Path.Combine(TokenDirectory, "kate@example.com.json");
        var oldBytes = File.ReadAllBytes(oldPath);
        var newPath = NewStore(CaseFoldFolderKey).PathFor(KelvinKate);
        await NewStore(CaseFoldFolderKey).SaveAsync(kelvin, Tokens(refresh: "newer"), CancellationToken.None);
        var log = new RecordingLoggerProvider();

        var store = TokenFileStore.Open(TokenDirectory, CaseFoldFolderKey, _time, log.CreateLogger<TokenFileStore>());

        Assert.Equal(oldBytes, File.ReadAllBytes(oldPath));
        Assert.Equal("newer", (await store.LoadAsync(kelvin, CancellationToken.None))?.RefreshToken);
        var blocked = Assert.Single(log.Entries, e => e.EventId.Name == "TokenFileRenameBlocked");
        Assert.Equal(LogLevel.Warning, blocked.Level);
        Assert.Contains(newPath, blocked.Message, StringComparison.Ordinal);
    }
}
