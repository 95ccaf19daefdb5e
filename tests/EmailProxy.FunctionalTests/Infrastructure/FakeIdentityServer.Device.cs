using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// The device authorization grant (RFC 8628) as Microsoft's v2 endpoint plays it: <c>/{tenant}/oauth2/v2.0/devicecode</c>
/// hands out a device code and a user code (verification URI <c>{Authority}/devicelogin</c>), and the token endpoint
/// answers the <c>urn:ietf:params:oauth:grant-type:device_code</c> grant with authorization_pending until a test does what
/// the person would (<see cref="ApproveDeviceCode"/>, <see cref="DeclineDeviceCode"/>), or the code expires.
/// </summary>
internal sealed partial class FakeIdentityServer
{
    public const string DeviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code";

    private readonly Dictionary<string, FakeDeviceCode> _deviceCodes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, FakeDeviceCode> _userCodes = new(StringComparer.OrdinalIgnoreCase);
    private readonly List<FakeDevicePoll> _devicePolls = [];
    private bool _slowDownNext;

    /// <summary>The <c>interval</c> handed out with each device code; default 5 s (functional tests set 1 s).</summary>
    public TimeSpan DeviceCodeInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The <c>expires_in</c> of each device code; default 15 minutes, as Microsoft's.</summary>
    public TimeSpan DeviceCodeLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>False: the app registration lacks "Allow public client flows", and polls are refused with AADSTS7000218.</summary>
    public bool AllowPublicClientFlows { get; set; } = true;

    /// <summary>The user codes handed out, in order.</summary>
    public IReadOnlyList<string> IssuedUserCodes
    {
        get
        {
            lock (_gate)
            {
                return [.. _deviceCodes.Values.Select(code => code.UserCode)];
            }
        }
    }

    /// <summary>Every device-code poll of the token endpoint, in order.</summary>
    public IReadOnlyList<FakeDevicePoll> DevicePolls
    {
        get
        {
            lock (_gate)
            {
                return [.. _devicePolls];
            }
        }
    }

    /// <summary>What the person does at the verification URI: enters the code and signs in as <paramref name="user"/>.</summary>
    public void ApproveDeviceCode(string userCode, string user)
    {
        lock (_gate)
        {
            DeviceCodeOf(userCode).ApprovedAs = user;
        }
    }

    /// <summary>What the person does who enters the code and then answers "No, cancel".</summary>
    public void DeclineDeviceCode(string userCode)
    {
        lock (_gate)
        {
            DeviceCodeOf(userCode).Declined = true;
        }
    }

    /// <summary>Makes the code expire now (the next poll gets expired_token).</summary>
    public void ExpireDeviceCode(string userCode)
    {
        lock (_gate)
        {
            DeviceCodeOf(userCode).ExpiresAt = Clock().AddSeconds(-1);
        }
    }

    /// <summary>Answers the next device-code poll with slow_down.</summary>
    public void SlowDownNext()
    {
        lock (_gate)
        {
            _slowDownNext = true;
        }
    }

    private FakeDeviceCode DeviceCodeOf(string userCode) =>
        _userCodes.TryGetValue(userCode, out var code) ? code : throw new InvalidOperationException($"No device code with user code {userCode} was handed out.");

    private async Task<IResult> DeviceCodeAsync(string tenant, HttpContext context)
    {
        var form = context.Request.HasFormContentType
            ? (await context.Request.ReadFormAsync(context.RequestAborted)).ToDictionary(pair => pair.Key, pair => pair.Value.ToString(), StringComparer.Ordinal)
            : new Dictionary<string, string>(StringComparer.Ordinal);
        var (status, json) = IssueDeviceCode(tenant, form);
        return Results.Text(json, "application/json; charset=utf-8", Encoding.UTF8, status);
    }

    private (int Status, string Json) IssueDeviceCode(string tenant, Dictionary<string, string> form)
    {
        if (!string.Equals(tenant, Tenant, StringComparison.Ordinal))
        {
            return Error(400, "invalid_request", $"AADSTS90002: Tenant '{tenant}' not found.");
        }

        var clientId = form.GetValueOrDefault("client_id");
        if (!string.Equals(clientId, ClientId, StringComparison.Ordinal))
        {
            return Error(400, "unauthorized_client", $"AADSTS700016: Application with identifier '{clientId}' was not found in the directory '{tenant}'.");
        }

        if (form.GetValueOrDefault("scope") is not { Length: > 0 } scope)
        {
            return Error(400, "invalid_request", "AADSTS900144: The request body must contain the following parameter: 'scope'.");
        }

        FakeDeviceCode code;
        lock (_gate)
        {
            string userCode;
            do
            {
                userCode = string.Concat(RandomNumberGenerator.GetItems<char>("BCDFGHJKLMNPQRSTVWXZ", 8)).Insert(4, "-");
            }
            while (_userCodes.ContainsKey(userCode));
            code = new FakeDeviceCode(NewOpaque("fake-dc-"), userCode, clientId!, scope, Clock() + DeviceCodeLifetime);
            _deviceCodes[code.DeviceCode] = code;
            _userCodes[userCode] = code;
        }

        var verification = $"{Authority}/devicelogin";
        var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("user_code", code.UserCode);
            writer.WriteString("device_code", code.DeviceCode);
            writer.WriteString("verification_uri", verification);
            writer.WriteNumber("expires_in", (int)DeviceCodeLifetime.TotalSeconds);
            writer.WriteNumber("interval", (int)DeviceCodeInterval.TotalSeconds);
            writer.WriteString("message", $"To sign in, use a web browser to open the page {verification} and enter the code {code.UserCode} to authenticate.");
            writer.WriteEndObject();
        }

        return (200, Encoding.UTF8.GetString(buffer.ToArray()));
    }

    /// <summary>The token endpoint's device_code grant (called under the gate, after the client checks).</summary>
    private (int Status, string Json) PollDeviceCode(Dictionary<string, string> form)
    {
        var deviceCode = form.GetValueOrDefault("device_code");
        if (deviceCode is null || !_deviceCodes.TryGetValue(deviceCode, out var code)
            || !string.Equals(code.ClientId, form.GetValueOrDefault("client_id"), StringComparison.Ordinal))
        {
            _devicePolls.Add(new FakeDevicePoll(null, Clock(), "bad_verification_code"));
            return Error(400, "bad_verification_code", "AADSTS70019: The device_code sent to the token endpoint was not recognized.");
        }

        (int Status, string Json) Answer(string answer, (int Status, string Json) result)
        {
            _devicePolls.Add(new FakeDevicePoll(code.UserCode, Clock(), answer));
            return result;
        }

        if (!AllowPublicClientFlows)
        {
            return Answer("invalid_client", Error(401, "invalid_client", "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'."));
        }

        if (_slowDownNext)
        {
            _slowDownNext = false;
            return Answer("slow_down", Error(400, "slow_down", "AADSTS70016: OAuth 2.0 device flow error. Polling too fast: slow down."));
        }

        if (code.Redeemed)
        {
            return Answer("invalid_grant", Error(400, "invalid_grant", "AADSTS54005: The device code was already redeemed."));
        }

        if (Clock() >= code.ExpiresAt)
        {
            return Answer("expired_token", Error(400, "expired_token", "AADSTS70020: The provided value for the input parameter 'device_code' is not valid. This device code has expired."));
        }

        if (code.Declined)
        {
            return Answer("authorization_declined", Error(400, "authorization_declined", "AADSTS70000: The end user denied the authorization request."));
        }

        if (code.ApprovedAs is not { } user)
        {
            return Answer("authorization_pending", Error(400, "authorization_pending", "AADSTS70016: OAuth 2.0 device flow error. Authorization is pending. Continue polling."));
        }

        code.Redeemed = true;
        return Answer("tokens", Success(IssueTokens(user, code.ClientId, code.Scope)));
    }
}
