using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.Relay;
using EmailProxy.Tests.TestSupport;
using EmailProxy.Upstream;

namespace EmailProxy.Tests.Relay;

/// <summary>
/// The relay with a real upstream: TLS over a loopback socket through <see cref="UpstreamSocketStream"/>, as the
/// connector builds it, with megabytes going both ways at once in writes of every size (so TLS records arrive split
/// over reads, several in one read, and small).
/// </summary>
public sealed class ByteRelaySocketTests
{
    private const int Megabytes = 4 * 1024 * 1024;

    [Fact]
    public async Task RunAsync_TlsUpstreamBothWaysAtOnce_EveryByteArrivesInOrder()
    {
        using var certificate = CreateCertificate();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(listener.LocalEndPoint!);
        using var serverSocket = await listener.AcceptAsync();
        await using var serverTls = new SslStream(new NetworkStream(serverSocket, ownsSocket: false));
        var transport = new UpstreamSocketStream(socket);
        var clientTls = new SslStream(transport, leaveInnerStreamOpen: false, (_, presented, _, _) => presented?.GetCertHashString() == certificate.Thumbprint);
        await Task.WhenAll(
            serverTls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }),
            clientTls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "upstream.test" })).Guarded();
        await using var upstream = new UpstreamConnection(clientTls, "upstream.test", 993, () => socket.Shutdown(SocketShutdown.Send), transport);

        var clientToProxy = new Pipe();
        var proxyToClient = new Pipe();
        var relay = ByteRelay.RunAsync(new Duplex(clientToProxy.Reader, proxyToClient.Writer), upstream, "* BYE\r\n"u8.ToArray(), CancellationToken.None);

        var down = Data(11);
        var up = Data(13);
        var serverSends = Task.Run(async () =>
        {
            var random = new Random(17);
            for (var offset = 0; offset < down.Length;)
            {
                var count = Math.Min(down.Length - offset, random.Next(3) switch { 0 => random.Next(1, 100), 1 => random.Next(100, 20_000), _ => random.Next(20_000, 100_000) });
                await serverTls.WriteAsync(down.AsMemory(offset, count));
                offset += count;
            }
        });
        var clientSends = Task.Run(async () =>
        {
            var random = new Random(19);
            for (var offset = 0; offset < up.Length;)
            {
                var count = Math.Min(up.Length - offset, random.Next(1, 70_000));
                await clientToProxy.Writer.WriteAsync(up.AsMemory(offset, count));
                offset += count;
            }
        });
        var serverReceives = Task.Run(async () =>
        {
            var received = new byte[up.Length];
            await serverTls.ReadExactlyAsync(received);
            return received;
        });
        var clientReceives = Task.Run(async () =>
        {
            var received = new MemoryStream();
            while (received.Length < down.Length)
            {
                var read = await proxyToClient.Reader.ReadAsync();
                foreach (var segment in read.Buffer)
                {
                    received.Write(segment.Span);
                }
                proxyToClient.Reader.AdvanceTo(read.Buffer.End);
            }
            return received.ToArray();
        });

        await Task.WhenAll(serverSends, clientSends).Guarded();
        Assert.Equal(up, await serverReceives.Guarded());
        Assert.Equal(down, await clientReceives.Guarded());

        // The server closes: the relay ends, having counted every byte.
        await serverTls.ShutdownAsync();
        serverSocket.Shutdown(SocketShutdown.Send);
        var result = await relay.Guarded();
        Assert.Equal(RelayEnd.UpstreamClosed, result.End);
        Assert.Equal(up.Length, result.BytesFromClient);
        Assert.Equal(down.Length, result.BytesToClient);
        Assert.False(transport.HoldsBuffer);
    }

    private static byte[] Data(int seed)
    {
        var data = new byte[Megabytes];
        new Random(seed).NextBytes(data);
        return data;
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=upstream.test", key, HashAlgorithmName.SHA256);
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // SslStream on Linux wants a certificate whose key it can load: a PKCS#12 round trip gives it one.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }

    private sealed record Duplex(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
