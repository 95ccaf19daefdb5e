using System.Buffers;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.LocalTls;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.LocalTls;

/// <summary>The decrypted side of a client's TLS connection, over a real loopback socket.</summary>
public sealed class TlsTransportTests
{
    [Fact]
    public async Task Input_ClientSendsAFullRecord_OneReadGivesTheWholeRecord()
    {
        using var certificate = CreateCertificate();
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await clientSocket.ConnectAsync(listener.LocalEndPoint!);
        using var serverSocket = await listener.AcceptAsync();
        var serverTls = new SslStream(new NetworkStream(serverSocket, ownsSocket: false));
        await using var clientTls = new SslStream(new NetworkStream(clientSocket, ownsSocket: false), leaveInnerStreamOpen: false,
            (_, presented, _, _) => presented?.GetCertHashString() == certificate.Thumbprint);
        await Task.WhenAll(
            serverTls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = certificate }),
            clientTls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "localhost" })).Guarded();
        await using var transport = new TlsTransport(serverTls);

        // One write of 16 KiB is one TLS record: the relay should get it in one read, to send it upstream as one.
        var record = new byte[16 * 1024];
        new Random(23).NextBytes(record);
        await clientTls.WriteAsync(record);

        var read = await transport.Input.ReadAsync().AsTask().Guarded();
        Assert.Equal(record.Length, read.Buffer.Length);
        Assert.Equal(record, read.Buffer.ToArray());
        transport.Input.AdvanceTo(read.Buffer.End);
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        using var ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }
}
