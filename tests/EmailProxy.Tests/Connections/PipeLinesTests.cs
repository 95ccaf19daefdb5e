using System.IO.Pipelines;
using EmailProxy.Connections;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Connections;

/// <summary>Bounded line reads: a line that arrives a byte at a time is put together once, and a long one is refused.</summary>
public sealed class PipeLinesTests
{
    [Fact]
    public async Task ReadLineAsync_LineArrivingAByteAtATime_ReturnsItWhole()
    {
        var pipe = new Pipe();
        var read = pipe.Reader.ReadLineAsync(64, CancellationToken.None).AsTask();

        foreach (var b in "a1 NOOP\r\nb"u8.ToArray())
        {
            await pipe.Writer.WriteAsync(new[] { b });
        }

        Assert.Equal("a1 NOOP"u8.ToArray(), await read.Guarded());
        await pipe.Writer.WriteAsync("2\n"u8.ToArray());
        Assert.Equal("b2"u8.ToArray(), await pipe.Reader.ReadLineAsync(64, CancellationToken.None).AsTask().Guarded());
    }

    [Fact]
    public async Task ReadLineAsync_LineArrivingAByteAtATimePastTheLimit_Throws()
    {
        var pipe = new Pipe();
        var read = pipe.Reader.ReadLineAsync(16, CancellationToken.None).AsTask();

        for (var i = 0; i < 17 && !read.IsCompleted; i++)
        {
            await pipe.Writer.WriteAsync("a"u8.ToArray());
        }

        await Assert.ThrowsAsync<LineTooLongException>(() => read.Guarded());
    }
}
