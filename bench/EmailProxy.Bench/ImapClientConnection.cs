using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.Bench;

/// <summary>
/// A raw IMAP client on a socket (plaintext to the proxy, or TLS straight to the upstream): it writes command
/// lines and reads answers and literals as bytes, with no parsing beyond finding the tagged line and the
/// literal's length, so that the client costs as little as possible.
/// </summary>
internal sealed class ImapClientConnection : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly WireReader _reader;

    private ImapClientConnection(Stream stream, int bufferSize)
    {
        _stream = stream;
        _reader = new WireReader(stream, bufferSize);
    }

    /// <summary>
    /// Connects to 127.0.0.1:<paramref name="port"/>; with <paramref name="tls"/>, does the TLS handshake the proxy does upstream;
    /// from <paramref name="from"/> (another loopback address, to play another host) when given.
    /// </summary>
    public static async Task<ImapClientConnection> ConnectAsync(int port, TestCertificates? tls, int bufferSize, CancellationToken cancellationToken, IPAddress? from = null) =>
        new(await ClientSocket.ConnectAsync(port, tls, cancellationToken, from), bufferSize);

    /// <summary>Reads the greeting; fails unless it is <c>* OK</c>.</summary>
    public async Task<string> ReadGreetingAsync(CancellationToken cancellationToken)
    {
        var greeting = await _reader.ReadLineAsync(cancellationToken) ?? throw new IOException("closed before the greeting");
        return greeting.StartsWith("* OK", StringComparison.Ordinal) ? greeting : throw new IOException($"unexpected greeting: {greeting}");
    }

    public ValueTask SendAsync(string line, CancellationToken cancellationToken) =>
        _stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"), cancellationToken);

    /// <summary>Sends <c>TAG COMMAND</c> and returns the tagged answer without its tag (untagged lines are skipped).</summary>
    public async Task<string> CommandAsync(string tag, string command, CancellationToken cancellationToken)
    {
        await SendAsync($"{tag} {command}", cancellationToken);
        return await ReadTaggedAsync(tag, cancellationToken);
    }

    /// <summary>Like <see cref="CommandAsync"/>, but fails unless the answer is OK.</summary>
    public async Task<string> CommandOkAsync(string tag, string command, CancellationToken cancellationToken)
    {
        var answer = await CommandAsync(tag, command, cancellationToken);
        return answer.StartsWith("OK", StringComparison.Ordinal) ? answer : throw new IOException($"{command.Split(' ')[0]} answered: {answer}");
    }

    /// <summary>FETCHes message <paramref name="sequence"/>'s BODY[] and returns the literal's length; its bytes are read and dropped.</summary>
    public async Task<long> FetchAsync(string tag, int sequence, CancellationToken cancellationToken)
    {
        await SendAsync($"{tag} FETCH {sequence} BODY[]", cancellationToken);
        long total = 0;
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancellationToken) ?? throw new IOException("closed during FETCH");
            if (line.StartsWith(tag + " ", StringComparison.Ordinal))
            {
                return line.AsSpan(tag.Length + 1).StartsWith("OK", StringComparison.Ordinal) ? total : throw new IOException($"FETCH answered: {line}");
            }
            if (line.EndsWith('}') && line.LastIndexOf('{') is var open and >= 0)
            {
                var length = long.Parse(line.AsSpan(open + 1, line.Length - open - 2), NumberStyles.None, CultureInfo.InvariantCulture);
                await _reader.SkipAsync(length, cancellationToken);
                total += length;
            }
        }
    }

    public async ValueTask DisposeAsync() => await _stream.DisposeAsync();

    private async Task<string> ReadTaggedAsync(string tag, CancellationToken cancellationToken)
    {
        while (true)
        {
            var line = await _reader.ReadLineAsync(cancellationToken) ?? throw new IOException($"closed before the answer to {tag}");
            if (line.Length > tag.Length && line[tag.Length] == ' ' && line.StartsWith(tag, StringComparison.Ordinal))
            {
                return line[(tag.Length + 1)..];
            }
        }
    }
}
