using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;
using EmailProxy.Configuration;
using EmailProxy.OAuth2;
using EmailProxy.Tests.Accounts;
using EmailProxy.Tests.TestSupport;
using EmailProxy.TokenStore;
using Microsoft.Extensions.Logging.Abstractions;

namespace EmailProxy.Tests.OAuth2;

/// <summary>
/// A device-code account, a fake clock that tells when a poll's wait has begun (each Task.Delay makes one
/// timer), and a <see cref="StubTokenEndpoint"/> that plays both the device authorization endpoint (a request
/// without grant_type) and the token endpoint's device-code polls: each poll is answered by the next of
/// <see cref="PollAnswers"/> (authorization_pending when there is none) and reported on <see cref="Polls"/>.
/// </summary>
internal sealed class DeviceCodeFixture : IDisposable
{
    public const string VerificationUri = "https://microsoft.com/devicelogin";
    public const string DeviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code";

    private readonly Channel<(DateTimeOffset At, IReadOnlyDictionary<string, string> Form)> _polls = Channel.CreateUnbounded<(DateTimeOffset, IReadOnlyDictionary<string, string>)>();
    private int _authorizations;

    /// <param name="flow">The account's flow (device code unless a test of the browser's texts asks otherwise).</param>
    public DeviceCodeFixture(GeneralOptions? general = null, OAuthFlow flow = OAuthFlow.DeviceCode)
    {
        Account = TestAccounts.Create() with
        {
            Flow = flow,
            DeviceCodeUrl = new Uri("https://login.example.test/contoso.example/oauth2/v2.0/devicecode"),
        };
        Http = new HttpClient(Endpoint) { Timeout = OAuthClient.RequestTimeout };
        Client = new OAuthClient(Http, Time);
        Config = new ProxyConfig(
            Temp.Combine("emailproxy.config"),
            general ?? new GeneralOptions(),
            new Dictionary<string, ServerOptions>(StringComparer.OrdinalIgnoreCase)
            {
                [Account.ServerName] = new(Account.ServerName) { ImapHost = "127.0.0.1", ImapPort = 1 },
            },
            new Dictionary<string, AccountOptions>(StringComparer.OrdinalIgnoreCase) { [Account.Name] = Account });
        Tokens = new TokenService(Client, new TokenFileStore(Temp.Combine("tokens"), MasterKey.FromBytes(new byte[32]), Time, NullLogger<TokenFileStore>.Instance), Time, NullLogger<TokenService>.Instance);
        SignIns = new SignInManager(Config, Client, Tokens, Time, Log.CreateLogger<SignInManager>());
        Endpoint.Respond = Respond;
    }

    public TempDirectory Temp { get; } = new();

    public TimerWatchingTimeProvider Time { get; } = new();

    public StubTokenEndpoint Endpoint { get; } = new();

    public HttpClient Http { get; }

    public OAuthClient Client { get; }

    public RecordingLoggerProvider Log { get; } = new();

    public AccountOptions Account { get; }

    public ProxyConfig Config { get; }

    public TokenService Tokens { get; }

    public SignInManager SignIns { get; }

    /// <summary>The device authorization's <c>expires_in</c> and <c>interval</c> (seconds).</summary>
    public int ExpiresIn { get; set; } = 900;

    public int Interval { get; set; } = 5;

    /// <summary>When set, the user code handed out instead of <see cref="UserCode"/> (a JSON string's content).</summary>
    public string? UserCodeOverride { get; set; }

    /// <summary>When set, the device authorization endpoint answers this instead of codes.</summary>
    public Func<HttpResponseMessage>? AuthorizationAnswer { get; set; }

    /// <summary>The answers to the next token endpoint requests (polls, or a browser sign-in's redemption), in order; authorization_pending once they run out.</summary>
    public ConcurrentQueue<Func<HttpResponseMessage>> PollAnswers { get; } = new();

    public int Authorizations => Volatile.Read(ref _authorizations);

    public int PollCount => Endpoint.Forms.Count(f => f.ContainsKey("grant_type"));

    /// <summary>The n-th device code handed out (1-based): a secret that must never be logged.</summary>
    public static string DeviceCode(int n) => $"device-code-secret-{n}-x9Qw";

    /// <summary>The n-th user code handed out: ABCD-EFGH, then BCDE-FGHI, …</summary>
    public static string UserCode(int n) =>
        string.Concat(Enumerable.Range(0, 8).Select(i => (char)('A' + ((n - 1 + i) % 26)))).Insert(4, "-");

    /// <summary>Waits for the next poll; returns when it was made (on the fake clock) and its form.</summary>
    public async Task<(DateTimeOffset At, IReadOnlyDictionary<string, string> Form)> NextPollAsync() =>
        await _polls.Reader.ReadAsync().AsTask().Guarded();

    public static HttpResponseMessage Error(string error, string description = "", HttpStatusCode status = HttpStatusCode.BadRequest) =>
        StubTokenEndpoint.Json(status, $"{{\"error\":\"{error}\",\"error_description\":\"{description} Trace ID: t Correlation ID: c\"}}");

    public void Dispose()
    {
        SignIns.Dispose();
        Endpoint.Hold?.TrySetResult();
        Http.Dispose();
        Temp.Dispose();
    }

    private HttpResponseMessage Respond(int n, IReadOnlyDictionary<string, string> form)
    {
        if (!form.TryGetValue("grant_type", out _))
        {
            var count = Interlocked.Increment(ref _authorizations);
            return AuthorizationAnswer?.Invoke() ?? StubTokenEndpoint.Json(HttpStatusCode.OK,
                $"{{\"device_code\":\"{DeviceCode(count)}\",\"user_code\":\"{UserCodeOverride ?? UserCode(count)}\",\"verification_uri\":\"{VerificationUri}\",\"expires_in\":{ExpiresIn},\"interval\":{Interval},\"message\":\"To sign in, use a web browser to open the page {VerificationUri} and enter the code {UserCode(count)} to authenticate.\"}}");
        }
        var answer = PollAnswers.TryDequeue(out var next) ? next() : Error("authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling.");
        _polls.Writer.TryWrite((Time.GetUtcNow(), form));
        return answer;
    }
}
