using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Text;
using EmailProxy.FunctionalTests.Infrastructure;

namespace EmailProxy.Bench;

/// <summary>One connection of <see cref="FastImapServer"/>: TLS handshake, greeting, then one command per line.</summary>
internal sealed class FastImapSession(FastImapServer server, Socket socket)
{
    private static readonly byte[] Continuation = "+ \r\n"u8.ToArray();

    private bool _authenticated;

    public async Task RunAsync()
    {
        var stopping = server.Stopping;
        try
        {
            await using var network = new NetworkStream(socket, ownsSocket: true);
            await using var tls = new SslStream(network, leaveInnerStreamOpen: false);
            await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = server.Certificates.ServerCertificateContext,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, stopping);
            await tls.WriteAsync(server.Greeting, stopping);
            var reader = new WireReader(tls, 8192);
            while (await reader.ReadLineAsync(stopping) is { } line)
            {
                if (!await HandleAsync(tls, reader, line, stopping))
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or AuthenticationException or OperationCanceledException or ObjectDisposedException or InvalidDataException)
        {
            // The peer went away or the bench is stopping.
        }
    }

    /// <summary>Answers one command; false when the session is over (LOGOUT).</summary>
    private async ValueTask<bool> HandleAsync(SslStream tls, WireReader reader, string line, CancellationToken cancellationToken)
    {
        var space = line.IndexOf(' ', StringComparison.Ordinal);
        if (space <= 0)
        {
            await WriteAsync(tls, "* BAD Missing tag or command.", cancellationToken);
            return true;
        }
        var tag = line[..space];
        var rest = line[(space + 1)..];
        var (name, arguments) = Split(rest);
        if (name == "UID")
        {
            (name, arguments) = Split(arguments);
        }
        switch (name)
        {
            case "CAPABILITY":
                await WriteAsync(tls, $"* CAPABILITY {(_authenticated ? FastImapServer.Capabilities : FastImapServer.PreAuthCapabilities)}\r\n{tag} OK CAPABILITY completed.", cancellationToken);
                return true;
            case "NOOP":
                await WriteAsync(tls, $"{tag} OK NOOP completed.", cancellationToken);
                return true;
            case "AUTHENTICATE":
                await AuthenticateAsync(tls, reader, tag, arguments, cancellationToken);
                return true;
            case "SELECT" or "EXAMINE" when _authenticated:
                await WriteAsync(tls, $"* 1 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Seen \\Deleted)\r\n* OK [UIDVALIDITY 1] UIDs valid.\r\n* OK [UIDNEXT 2] Predicted next UID.\r\n{tag} OK [READ-WRITE] {name} completed.", cancellationToken);
                return true;
            case "FETCH" when _authenticated:
                // Header, the preallocated message in one write (SslStream cuts it into 16 KiB records), trailer.
                await tls.WriteAsync(server.FetchHeader, cancellationToken);
                await tls.WriteAsync(server.Message, cancellationToken);
                await WriteAsync(tls, $")\r\n{tag} OK FETCH completed.", cancellationToken);
                return true;
            case "LOGOUT":
                await WriteAsync(tls, $"* BYE Bench server logging out.\r\n{tag} OK LOGOUT completed.", cancellationToken);
                return false;
            default:
                await WriteAsync(tls, $"{tag} BAD {name} is not supported by the bench server{(_authenticated ? "" : " before authentication")}.", cancellationToken);
                return true;
        }
    }

    private async ValueTask AuthenticateAsync(SslStream tls, WireReader reader, string tag, string arguments, CancellationToken cancellationToken)
    {
        var (mechanism, initialResponse) = Split(arguments);
        if (mechanism != "XOAUTH2" || _authenticated)
        {
            await WriteAsync(tls, $"{tag} NO [CANNOT] Only AUTHENTICATE XOAUTH2, once.", cancellationToken);
            return;
        }
        if (initialResponse.Length == 0)
        {
            await tls.WriteAsync(Continuation, cancellationToken);
            initialResponse = await reader.ReadLineAsync(cancellationToken) ?? "";
        }
        if (XOAuth2Response.Decode(initialResponse) is { } decoded && XOAuth2Response.Parse(decoded) is { } credentials && server.TokenIsValid(credentials.Token, credentials.User))
        {
            _authenticated = true;
            server.CountAuthentication();
            await WriteAsync(tls, $"{tag} OK [CAPABILITY {FastImapServer.Capabilities}] AUTHENTICATE completed.", cancellationToken);
        }
        else
        {
            await WriteAsync(tls, $"{tag} NO [AUTHENTICATIONFAILED] AUTHENTICATE failed.", cancellationToken);
        }
    }

    private static (string Name, string Arguments) Split(string text)
    {
        var space = text.IndexOf(' ', StringComparison.Ordinal);
        return space < 0 ? (text.ToUpperInvariant(), "") : (text[..space].ToUpperInvariant(), text[(space + 1)..]);
    }

    private static ValueTask WriteAsync(SslStream tls, string lines, CancellationToken cancellationToken) =>
        tls.WriteAsync(Encoding.ASCII.GetBytes(lines + "\r\n"), cancellationToken);
}
