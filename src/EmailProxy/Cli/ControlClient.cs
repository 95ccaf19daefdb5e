using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.TokenStore;
using EmailProxy.Web;

namespace EmailProxy.Cli;

/// <summary>
/// The command line's side of the control endpoints (<see cref="ControlEndpoints"/>): a running proxy
/// is one whose <c>control.token</c> exists and whose HTTP listener answers a connection on loopback.
/// Requests carry the token as a bearer token; the token is never printed.
/// </summary>
internal sealed class ControlClient : IDisposable
{
    /// <summary>How long finding the proxy's listener may take: it is on this machine.</summary>
    public static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(3);

    private readonly HttpClient _http;

    private ControlClient(Uri baseAddress, string token)
    {
        BaseAddress = baseAddress;
        // A paste waits for the code's redemption at the provider, bounded by the token request's own limit.
        _http = new HttpClient { BaseAddress = baseAddress, Timeout = OAuthClient.RequestTimeout + TimeSpan.FromSeconds(30) };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public Uri BaseAddress { get; }

    /// <summary>
    /// Where the command line reaches the proxy's listener on loopback: 127.0.0.1 (or ::1) when it
    /// listens on every address or on localhost, its own address when that is a loopback one; null
    /// when web_listen is off loopback (control requests from there would be refused).
    /// </summary>
    public static IPEndPoint? LoopbackEndPointOf(GeneralOptions general)
    {
        var web = WebListenAddress.Of(general);
        var address = web.Address switch
        {
            null => IPAddress.Loopback,
            { } any when any.Equals(IPAddress.Any) => IPAddress.Loopback,
            { } any when any.Equals(IPAddress.IPv6Any) => IPAddress.IPv6Loopback,
            { } specific when ListenAddress.IsLoopback(specific) => specific,
            _ => null,
        };
        return address is null ? null : new IPEndPoint(address, web.Port);
    }

    /// <summary>The client of the running proxy, or null when none runs (no control.token, or nothing answers on loopback).</summary>
    public static async Task<ControlClient?> TryConnectAsync(ProxyConfig config, CancellationToken cancellationToken)
    {
        var tokenDirectory = config.TokenDirectory;
        if (ControlToken.Read(ControlToken.PathFor(tokenDirectory)) is not { } token || LoopbackEndPointOf(config.General) is not { } endPoint)
        {
            return null;
        }
        using var socket = new Socket(endPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ConnectTimeout);
        try
        {
            await socket.ConnectAsync(endPoint, timeout.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // A control.token a proxy that died left behind: nobody listens.
            return null;
        }
        var host = endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]" : endPoint.Address.ToString();
        return new ControlClient(new Uri($"http://{host}:{endPoint.Port}/"), token);
    }

    public Task<ControlSignInStarted> StartSignInAsync(string accountName, SignInMethod? method, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"api/accounts/{Uri.EscapeDataString(accountName)}/signin",
            JsonContent.Create(new ControlSignInRequest(method switch
            {
                SignInMethod.Browser => "browser",
                SignInMethod.DeviceCode => "device_code",
                _ => null,
            }), ControlJsonContext.Default.ControlSignInRequest),
            ControlJsonContext.Default.ControlSignInStarted, cancellationToken);

    public Task<ControlSignInState> GetSignInAsync(string id, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, $"api/signins/{Uri.EscapeDataString(id)}", null, ControlJsonContext.Default.ControlSignInState, cancellationToken);

    public Task<ControlSignInState> PasteAsync(string id, string address, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"api/signins/{Uri.EscapeDataString(id)}/paste",
            JsonContent.Create(new ControlPasteRequest(address), ControlJsonContext.Default.ControlPasteRequest),
            ControlJsonContext.Default.ControlSignInState, cancellationToken);

    public async Task<bool> ForgetAsync(string accountName, CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Post, $"api/accounts/{Uri.EscapeDataString(accountName)}/forget", null,
            ControlJsonContext.Default.ControlForgetResult, cancellationToken)).Forgotten;

    /// <summary>Reloads the configuration (<c>POST /api/reload</c>); the summary of what changed.</summary>
    /// <exception cref="ControlException">The file was refused (the message names its errors), or the request failed.</exception>
    public async Task<string> ReloadAsync(CancellationToken cancellationToken) =>
        (await SendAsync(HttpMethod.Post, "api/reload", null, ControlJsonContext.Default.ControlReloadResult, cancellationToken)).Summary;

    public void Dispose() => _http.Dispose();

    /// <exception cref="ControlException">The proxy refused or failed the request; the message says why in one line.</exception>
    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new ControlException($"the running proxy at {BaseAddress} did not answer ({e.Message}): nothing was stored here; run the command again once it is back");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ControlException($"the running proxy at {BaseAddress} did not answer within {_http.Timeout.TotalSeconds:0} s: run the command again once it answers");
        }
        using (response)
        {
            try
            {
                if (response.IsSuccessStatusCode)
                {
                    return await response.Content.ReadFromJsonAsync(type, cancellationToken)
                        ?? throw new ControlException($"the running proxy at {BaseAddress} gave an empty answer");
                }
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    throw new ControlException(
                        $"the proxy at {BaseAddress} refused the control request ({(int)response.StatusCode}): its control.token is not the one read here (another proxy on that port?), or the request did not come over loopback");
                }
                var error = response.Content.Headers.ContentType?.MediaType == "application/json"
                    ? await response.Content.ReadFromJsonAsync(ControlJsonContext.Default.ControlError, cancellationToken)
                    : null;
                throw new ControlException(error?.Error ?? $"the running proxy at {BaseAddress} answered {(int)response.StatusCode} {response.ReasonPhrase}");
            }
            catch (JsonException)
            {
                throw new ControlException($"the running proxy at {BaseAddress} gave an answer this version does not understand");
            }
        }
    }
}
