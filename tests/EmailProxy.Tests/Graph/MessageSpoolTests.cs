using System.Security.Cryptography;
using EmailProxy.Graph;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Graph;

public sealed class MessageSpoolTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task WriteAsync_ManyChunksInOddPieces_ReadBackTwiceUnchanged()
    {
        var message = RandomNumberGenerator.GetBytes((3 * MessageSpool.ChunkSize) + 123);
        using var spool = MessageSpool.Create(_temp.Path);
        for (var at = 0; at < message.Length; at += 7777)
        {
            await spool.WriteAsync(message.AsMemory(at, Math.Min(7777, message.Length - at)), CancellationToken.None);
        }
        await spool.CompleteAsync(CancellationToken.None);

        Assert.Equal(message.Length, spool.Length);
        for (var i = 0; i < 2; i++)
        {
            await using var read = spool.OpenRead();
            var copy = new MemoryStream();
            await read.CopyToAsync(copy);
            Assert.Equal(message, copy.ToArray());
        }
    }

    [Fact]
    public async Task Create_WhileWritten_NoFileLeftInTheFolderAndNoPlaintextOnDisk()
    {
        var marker = "a very recognisable line of the message"u8.ToArray();
        using var spool = MessageSpool.Create(_temp.Path);
        await spool.WriteAsync(marker, CancellationToken.None);
        await spool.CompleteAsync(CancellationToken.None);

        Assert.Empty(Directory.GetFileSystemEntries(_temp.Path));
        // The open file, read through /proc: only ciphertext.
        var fd = Directory.GetFiles("/proc/self/fd").Select(f => (Path: f, Target: new FileInfo(f).LinkTarget)).Single(f => f.Target?.Contains("emailproxy-spool-", StringComparison.Ordinal) == true);
        // Read by another process: the spool holds the file's lock, and the proxy's own reads would be refused.
        var fdPath = $"/proc/{Environment.ProcessId}/fd/{Path.GetFileName(fd.Path)}";
        Assert.Equal("600", (await RunAsync("stat", "-L", "-c", "%a", fdPath)).Trim());
        var onDisk = System.Text.Encoding.Latin1.GetBytes(await RunAsync("cat", fdPath));
        Assert.Equal(marker.Length + 16, onDisk.Length);
        Assert.Equal(-1, onDisk.AsSpan().IndexOf(marker.AsSpan(0, 8)));
    }

    private static async Task<string> RunAsync(string file, params string[] arguments)
    {
        var start = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardOutput = true, StandardOutputEncoding = System.Text.Encoding.Latin1 };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = System.Diagnostics.Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        return output;
    }

    [Fact]
    public void OpenRead_BeforeComplete_Refused()
    {
        using var spool = MessageSpool.Create(_temp.Path);

        Assert.Throws<InvalidOperationException>(() => spool.OpenRead());
    }
}
