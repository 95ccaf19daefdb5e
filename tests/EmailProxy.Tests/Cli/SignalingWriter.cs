using System.Threading.Channels;

namespace EmailProxy.Tests.Cli;

/// <summary>A <see cref="StringWriter"/> that also hands every string written (a line or a piece) to <see cref="NextAsync"/>, so a test waits for a write instead of polling.</summary>
internal sealed class SignalingWriter : StringWriter
{
    private readonly Channel<string> _writes = Channel.CreateUnbounded<string>();

    /// <summary>The next string written by <see cref="WriteAsync(string?)"/> or <see cref="WriteLineAsync(string?)"/>.</summary>
    public ValueTask<string> NextAsync() => _writes.Reader.ReadAsync();

    public override Task WriteAsync(string? value)
    {
        Write(value);
        _writes.Writer.TryWrite(value ?? "");
        return Task.CompletedTask;
    }

    public override Task WriteLineAsync(string? value)
    {
        WriteLine(value);
        _writes.Writer.TryWrite(value ?? "");
        return Task.CompletedTask;
    }
}
