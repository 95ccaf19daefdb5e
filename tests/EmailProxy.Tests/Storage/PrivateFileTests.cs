using System.Text;
using EmailProxy.Storage;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Storage;

public sealed class PrivateFileTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Write_NewFile_HasContentAndMode0600()
    {
        var path = _temp.Combine("secret.json");

        PrivateFile.Write(path, "first"u8);

        Assert.Equal("first", File.ReadAllText(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
        Assert.Equal([path], Directory.GetFiles(_temp.Path));
    }

    [Fact]
    public void WriteText_Mode0644_FileHasThatMode()
    {
        var path = _temp.Combine("ca.pem");
        var mode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

        PrivateFile.WriteText(path, "-----BEGIN CERTIFICATE-----\n", mode);

        Assert.Equal("-----BEGIN CERTIFICATE-----\n", File.ReadAllText(path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(mode, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public void Write_ExistingFile_ReplacesItAndLeavesNoTemporary()
    {
        var path = _temp.WriteFile("tokens.json", "old content that is longer than the new one");

        PrivateFile.Write(path, "new"u8);

        Assert.Equal("new", File.ReadAllText(path));
        Assert.Empty(Directory.GetFiles(_temp.Path, "*.tmp"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public void Write_RenameFails_ThrowsAndRemovesTheTemporaryFile()
    {
        // A folder where the file should be: the temporary file is written, the rename over it fails.
        var path = _temp.Combine("occupied");
        Directory.CreateDirectory(path);

        Assert.ThrowsAny<IOException>(() => PrivateFile.Write(path, "content"u8));

        Assert.Empty(Directory.GetFiles(_temp.Path));
        Assert.True(Directory.Exists(path));
    }

    [Fact]
    public void Write_FolderMissing_ThrowsAndCreatesNothing()
    {
        var path = _temp.Combine("missing", "file.json");

        Assert.ThrowsAny<IOException>(() => PrivateFile.Write(path, "content"u8));

        Assert.False(Directory.Exists(_temp.Combine("missing")));
    }

    [Fact]
    public void RemoveStaleTemporaryFiles_LeftOverTemporaries_RemovesOnlyThem()
    {
        var stale = _temp.WriteFile("user@example.com.json.0123456789abcdef.tmp", "{ \"torn");
        var other = _temp.WriteFile("ca.pem.fedcba9876543210.tmp", "");
        var kept = _temp.WriteFile("user@example.com.json", "{}");
        var damaged = _temp.WriteFile("user@example.com.json.damaged-20250301120000", "x");
        foreach (var file in Directory.GetFiles(_temp.Path))
        {
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddHours(-1));
        }

        var removed = PrivateFile.RemoveStaleTemporaryFiles(_temp.Path);

        Assert.Equal([other, stale], removed.Order(StringComparer.Ordinal));
        Assert.Equal([kept, damaged], Directory.GetFiles(_temp.Path).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void RemoveStaleTemporaryFiles_OneFilesOnly_LeavesTheOthers()
    {
        var key = _temp.WriteFile("emailproxy.key.0123456789abcdef.tmp", "a key never used");
        var other = _temp.WriteFile("emailproxy.config.0123456789abcdef.tmp", "");
        File.SetLastWriteTimeUtc(key, DateTime.UtcNow.AddHours(-1));
        File.SetLastWriteTimeUtc(other, DateTime.UtcNow.AddHours(-1));

        Assert.Equal([key], PrivateFile.RemoveStaleTemporaryFiles(_temp.Path, _temp.Combine("emailproxy.key")));
        Assert.True(File.Exists(other));
    }

    [Fact]
    public void RemoveStaleTemporaryFiles_WrittenSinceThisProcessStarted_KeptAsAWriteInFlight()
    {
        var inFlight = _temp.WriteFile("user@example.com.json.0123456789abcdef.tmp", "{ \"half");

        Assert.Empty(PrivateFile.RemoveStaleTemporaryFiles(_temp.Path));
        Assert.True(File.Exists(inFlight));
    }

    [Fact]
    public void RemoveStaleTemporaryFiles_MissingFolder_RemovesNothing()
    {
        Assert.Empty(PrivateFile.RemoveStaleTemporaryFiles(_temp.Combine("not-there")));
    }

    [Fact]
    public void TryCreate_NoFile_CreatesItWithMode0600()
    {
        var path = _temp.Combine("emailproxy.key");

        Assert.True(PrivateFile.TryCreate(path, "key"u8));

        Assert.Equal("key", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_temp.Path));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public void TryCreate_FileExists_ReturnsFalseAndKeepsIt()
    {
        var path = _temp.WriteFile("emailproxy.key", "the key in use");

        Assert.False(PrivateFile.TryCreate(path, "another key"u8));

        Assert.Equal("the key in use", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_temp.Path));
    }

    [Fact]
    public async Task TryCreate_ManyAtOnce_ExactlyOneWinsAndTheFileIsItsWhole()
    {
        var path = _temp.Combine("emailproxy.key");
        using var start = new ManualResetEventSlim();
        var contents = Enumerable.Range(0, 16).Select(i => $"content of writer {i:D2} " + new string('x', 4096)).ToArray();

        var attempts = contents.Select(content => Task.Run(() =>
        {
            start.Wait(TestTimeout.Guard);
            return (Created: PrivateFile.TryCreate(path, Encoding.UTF8.GetBytes(content)), Content: content);
        })).ToArray();
        start.Set();
        var results = await Task.WhenAll(attempts);

        var winner = Assert.Single(results, r => r.Created);
        Assert.Equal(winner.Content, File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_temp.Path));
    }

    [Fact]
    public async Task TryCreate_RaceRepeatedManyTimes_NeverTwoWinners()
    {
        // The window between "the name is free" and "the name is taken" is short: only many rounds
        // show a create-only that is not atomic (two callers both told they created the file).
        for (var round = 0; round < 300; round++)
        {
            var path = _temp.Combine($"round-{round}.key");
            using var start = new Barrier(4);
            var attempts = Enumerable.Range(0, 4).Select(i => Task.Run(() =>
            {
                start.SignalAndWait(TestTimeout.Guard);
                return (Created: PrivateFile.TryCreate(path, Encoding.UTF8.GetBytes($"writer {i}")), Content: $"writer {i}");
            })).ToArray();
            var results = await Task.WhenAll(attempts).Guarded();

            var winner = Assert.Single(results, r => r.Created);
            Assert.Equal(winner.Content, File.ReadAllText(path));
        }
        Assert.Empty(Directory.GetFiles(_temp.Path, "*.tmp"));
    }

    [Fact]
    public void TryRename_FreeName_MovesTheFile()
    {
        var from = _temp.WriteFile("old.json", "content");
        var to = _temp.Combine("new.json");

        Assert.True(PrivateFile.TryRename(from, to));

        Assert.False(File.Exists(from));
        Assert.Equal("content", File.ReadAllText(to));
    }

    [Fact]
    public void TryRename_NameTaken_ChangesNothing()
    {
        var from = _temp.WriteFile("old.json", "old");
        var to = _temp.WriteFile("new.json", "new");

        Assert.False(PrivateFile.TryRename(from, to));

        Assert.Equal("old", File.ReadAllText(from));
        Assert.Equal("new", File.ReadAllText(to));
    }
}
