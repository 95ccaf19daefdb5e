using System.Collections.Concurrent;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using EmailProxy.Configuration;
using EmailProxy.Diagnostics;

namespace EmailProxy.Upstream;

/// <summary>
/// Opens TCP connections to upstream servers (15 s connect timeout, no Nagle) and does their TLS
/// (1.2 or later), checking the certificate against the system store plus the server's <c>ca_file</c>.
/// The connect, the handshake and the whole login are timed in <paramref name="metrics"/> (by <c>[server]</c> section).
/// </summary>
internal sealed class UpstreamConnector(TimeProvider time, ProxyMetrics? metrics = null)
{
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(15);
    public static readonly TimeSpan HandshakeTimeout = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, X509Certificate2Collection> _caBundles = new(StringComparer.Ordinal);

    /// <summary>
    /// Connects and runs a protocol's login <paramref name="dialogue"/> under one time limit. Every
    /// failure becomes a result naming host:port; the connection is closed unless the dialogue
    /// handed it on in a successful result. <paramref name="protocol"/> labels the login's duration.
    /// </summary>
    public async Task<UpstreamLoginResult> LoginAsync(ServerOptions server, string host, int port, bool implicitTls,
        Func<UpstreamConnection, CancellationToken, Task<UpstreamLoginResult>> dialogue, string protocol, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var result = await ConnectAndLoginAsync(server, host, port, implicitTls, dialogue, cancellationToken);
        metrics?.UpstreamAuth(protocol, server.Name, result.Succeeded ? "ok" : result.UnavailableReason is null ? "refused" : "unavailable", time.GetElapsedTime(started));
        return result;
    }

    private async Task<UpstreamLoginResult> ConnectAndLoginAsync(ServerOptions server, string host, int port, bool implicitTls,
        Func<UpstreamConnection, CancellationToken, Task<UpstreamLoginResult>> dialogue, CancellationToken cancellationToken)
    {
        using var timer = new CancellationTokenSource(HandshakeTimeout, time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        UpstreamConnection? connection = null;
        try
        {
            connection = await ConnectAsync(server, host, port, implicitTls, timeout.Token);
            var result = await dialogue(connection, timeout.Token);
            if (result.Connection == connection)
            {
                connection = null;
            }
            return result;
        }
        catch (UpstreamUnavailableException e)
        {
            return UpstreamLoginResult.Unavailable(e.Message);
        }
        catch (FormatException e)
        {
            return UpstreamLoginResult.Unavailable($"{host}:{port} does not speak the protocol as expected: {e.Message}");
        }
        catch (Connections.ProtocolLimitException e)
        {
            return UpstreamLoginResult.Unavailable($"{host}:{port} sent more than the proxy accepts before login: {e.Message}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return UpstreamLoginResult.Unavailable($"{host}:{port} did not answer within {HandshakeTimeout.TotalSeconds:0} seconds");
        }
        catch (IOException e)
        {
            return UpstreamLoginResult.Unavailable($"{host}:{port} broke the connection: {e.Message}");
        }
        finally
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
    }

    public async Task<UpstreamConnection> ConnectAsync(ServerOptions server, string host, int port, bool implicitTls, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        var started = time.GetTimestamp();
        using (var timer = new CancellationTokenSource(ConnectTimeout, time))
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token))
        {
            try
            {
                await socket.ConnectAsync(host, port, timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                socket.Dispose();
                throw new UpstreamUnavailableException($"cannot connect to {host}:{port}: no answer within {ConnectTimeout.TotalSeconds:0} seconds");
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw new UpstreamUnavailableException($"cannot connect to {host}:{port}: {Describe(e)}", e);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        metrics?.UpstreamConnect(server.Name, time.GetElapsedTime(started));
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        if (implicitTls)
        {
            try
            {
                stream = await StartTlsAsync(stream, server, host, port, cancellationToken);
            }
            catch
            {
                await stream.DisposeAsync();
                throw;
            }
        }
        return new UpstreamConnection(stream, host, port, () => socket.Shutdown(SocketShutdown.Send));
    }

    public async Task<Stream> StartTlsAsync(Stream inner, ServerOptions server, string host, int port, CancellationToken cancellationToken)
    {
        X509Certificate2Collection? extraRoots;
        try
        {
            extraRoots = server.CaFile is null ? null : _caBundles.GetOrAdd(server.CaFile, LoadBundle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new UpstreamUnavailableException($"ca_file '{server.CaFile}' of [server {server.Name}] cannot be read: {e.Message}", e);
        }
        SslPolicyErrors seen = SslPolicyErrors.None;
        X509ChainStatusFlags chainStatus = X509ChainStatusFlags.NoError;
        var ssl = new SslStream(inner, leaveInnerStreamOpen: false);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = host,
            EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
            {
                seen = errors;
                if (chain is not null)
                {
                    chainStatus = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
                }
                return errors == SslPolicyErrors.None
                    || (extraRoots is not null && certificate is X509Certificate2 leaf && TrustedByBundle(leaf, chain, errors, extraRoots));
            },
        };
        using var timer = new CancellationTokenSource(HandshakeTimeout, time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token);
        var started = time.GetTimestamp();
        try
        {
            await ssl.AuthenticateAsClientAsync(options, timeout.Token);
            metrics?.UpstreamTls(server.Name, time.GetElapsedTime(started));
            return ssl;
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException)
        {
            await ssl.DisposeAsync();
            cancellationToken.ThrowIfCancellationRequested();
            var reason = seen != SslPolicyErrors.None
                ? $"its certificate does not verify ({seen}{(chainStatus == X509ChainStatusFlags.NoError ? "" : ", " + chainStatus)}){(server.CaFile is null ? "; if it is signed by a private CA, set ca_file in [server " + server.Name + "]" : "")}"
                : e is OperationCanceledException ? $"no TLS handshake within {HandshakeTimeout.TotalSeconds:0} seconds" : e.Message;
            throw new UpstreamUnavailableException($"TLS with {host}:{port} failed: {reason}", e);
        }
    }

    /// <summary>STARTTLS/STLS has been accepted by the server: the handshake, on the same connection.</summary>
    public ValueTask UpgradeAsync(UpstreamConnection connection, ServerOptions server, CancellationToken cancellationToken) =>
        connection.UpgradeAsync((stream, ct) => StartTlsAsync(stream, server, connection.Host, connection.Port, ct), cancellationToken);

    /// <summary>The server does not offer STARTTLS/STLS, and the proxy never sends a token in plaintext by accident.</summary>
    public static UpstreamUnavailableException NoStartTls(UpstreamConnection connection, ServerOptions server, string detail = "does not offer STARTTLS") =>
        new($"{connection.Endpoint} {detail}, and the proxy does not send tokens in plaintext (set starttls = false in [server {server.Name}] only for a trusted local server)");

    /// <summary>Words of a server, bounded for an error text.</summary>
    public static string Truncate(string text) => text.Length > 300 ? text[..300] + "…" : text;

    /// <summary>A chain that fails only for an unknown root is accepted when that root is in <c>ca_file</c>; a name mismatch never is.</summary>
    internal static bool TrustedByBundle(X509Certificate2 leaf, X509Chain? presented, SslPolicyErrors errors, X509Certificate2Collection roots)
    {
        if (errors != SslPolicyErrors.RemoteCertificateChainErrors)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            foreach (var element in presented.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }
        return chain.Build(leaf);
    }

    private static X509Certificate2Collection LoadBundle(string path)
    {
        var bundle = new X509Certificate2Collection();
        bundle.ImportFromPemFile(path);
        return bundle;
    }

    private static string Describe(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused (is the host and port right, and is the server up?)",
        SocketError.HostNotFound or SocketError.NoData => "the host name does not resolve",
        SocketError.NetworkUnreachable or SocketError.HostUnreachable => "the network or host is unreachable",
        SocketError.TimedOut => "the connection timed out",
        _ => e.Message,
    };
}
