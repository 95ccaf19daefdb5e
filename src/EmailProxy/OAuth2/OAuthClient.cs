using Duende.IdentityModel;
using Duende.IdentityModel.Client;
using EmailProxy.Configuration;
using EmailProxy.Diagnostics;

namespace EmailProxy.OAuth2;

/// <summary>
/// The token endpoint requests, made with Duende.IdentityModel (provider-neutral). The HttpClient
/// it is given times out after 30 seconds; errors keep the provider's code and text (AADSTS…).
/// Each token request is counted and timed in <paramref name="metrics"/> (none in tests that do not look).
/// An account with an <c>issuer</c> has its discovery document read first when its endpoints are not known yet
/// (<see cref="EnsureDiscoveredAsync"/>), and read again after a request whose endpoint seems gone.
/// </summary>
internal sealed class OAuthClient(HttpClient http, TimeProvider time, ProxyMetrics? metrics = null)
{
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    private readonly Providers.IssuerDiscovery _discovery = new(http, time);

    /// <summary>
    /// For an account with an <c>issuer</c>: reads its discovery document unless it is known (once for everyone
    /// waiting). Null when the account's endpoints are as known as they can be; else the one-line reason.
    /// </summary>
    public async Task<string?> EnsureDiscoveredAsync(AccountOptions account, CancellationToken cancellationToken) =>
        account.Discovery is { NeedsRead: true } issuer ? await _discovery.EnsureAsync(issuer, cancellationToken) : null;

    /// <summary>The account's token endpoint, its discovery document read first when needed; else an error result saying why there is none.</summary>
    private async Task<(Uri? Address, TokenEndpointResult? Error)> TokenEndpointAsync(AccountOptions account, CancellationToken cancellationToken)
    {
        var problem = account.TokenUrl is null ? await EnsureDiscoveredAsync(account, cancellationToken) : null;
        return account.TokenUrl is { } address
            ? (address, null)
            : (null, new TokenEndpointResult
            {
                Error = "no token endpoint",
                ErrorDescription = problem ?? $"the discovery document of {account.Issuer?.OriginalString} names no token_endpoint: set token_url",
                Transient = problem is not null,
            });
    }

    /// <summary>A request whose endpoint answered 404 or not at all: an issuer's document may be out of date, and is read again at the next use.</summary>
    private static void InvalidateOnEndpointError(AccountOptions account, TokenEndpointResult result)
    {
        if (account.Discovery is { } issuer && result.IsError && result.Code is null
            && (result.Error?.StartsWith("HTTP 404", StringComparison.Ordinal) == true || result.Error?.EndsWith("did not answer", StringComparison.Ordinal) == true))
        {
            issuer.Invalidate();
        }
    }

    /// <summary>
    /// The client-credentials grant (app-only, confidential client): authenticated by a signed client
    /// assertion when the account has a certificate (a secret beside it is then not sent), else by its secret.
    /// No refresh token comes back; a certificate pair that cannot sign is an error result, never an exception.
    /// </summary>
    /// <param name="scope">The scope asked for; the account's <c>scope</c> when null (another is Graph's, for smtp_via graph).</param>
    public async Task<TokenEndpointResult> RequestClientCredentialsAsync(AccountOptions account, CancellationToken cancellationToken, string? scope = null)
    {
        var (tokenUrl, missing) = await TokenEndpointAsync(account, cancellationToken);
        if (tokenUrl is null)
        {
            return missing!;
        }
        ClientAssertion? assertion = null;
        if (account.ClientCertificate is { } certificatePath && account.ClientKey is { } keyPath)
        {
            using var credential = ClientCertificateAssertion.TryLoad(certificatePath, keyPath, out var key, out var problem);
            if (credential is null)
            {
                return new TokenEndpointResult { Error = "the client certificate cannot be used", ErrorDescription = $"{key}: {problem}" };
            }
            assertion = new ClientAssertion
            {
                Type = OidcConstants.ClientAssertionTypes.JwtBearer,
                Value = credential.Create(account.ClientId, tokenUrl, time.GetUtcNow()),
            };
        }
        var result = await SendAsync(ProxyMetrics.ClientCredentialsGrant, ct => http.RequestClientCredentialsTokenAsync(new ClientCredentialsTokenRequest
        {
            Address = tokenUrl.AbsoluteUri,
            ClientId = account.ClientId,
            ClientSecret = assertion is null ? account.ClientSecret : null,
            ClientAssertion = assertion ?? new ClientAssertion(),
            ClientCredentialStyle = ClientCredentialStyle.PostBody,
            Scope = scope ?? account.Scope,
        }, ct), cancellationToken);
        InvalidateOnEndpointError(account, result);
        return result;
    }

    public Task<TokenEndpointResult> RedeemCodeAsync(AccountOptions account, string code, string codeVerifier, string redirectUri, CancellationToken cancellationToken) =>
        SendAsync(account, ProxyMetrics.AuthorizationCodeGrant, (address, ct) => http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
        {
            Address = address.AbsoluteUri,
            ClientId = account.ClientId,
            ClientSecret = account.ClientSecret,
            ClientCredentialStyle = ClientCredentialStyle.PostBody,
            Code = code,
            CodeVerifier = codeVerifier,
            RedirectUri = redirectUri,
            // A sign-in that also named the Graph scope (smtp_via graph/auto): one token serves one resource, this one the mail scopes.
            Parameters = account.MayUseGraph ? new Parameters([new KeyValuePair<string, string>(OidcConstants.TokenRequest.Scope, account.Scope)]) : new Parameters(),
        }, ct), cancellationToken);

    /// <param name="scope">The scope asked for; the account's <c>scope</c> when null (another is Graph's, for smtp_via graph).</param>
    public Task<TokenEndpointResult> RefreshAsync(AccountOptions account, string refreshToken, CancellationToken cancellationToken, string? scope = null) =>
        SendAsync(account, ProxyMetrics.RefreshTokenGrant, (address, ct) => http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = address.AbsoluteUri,
            ClientId = account.ClientId,
            ClientSecret = account.ClientSecret,
            ClientCredentialStyle = ClientCredentialStyle.PostBody,
            RefreshToken = refreshToken,
            Scope = scope ?? account.Scope,
        }, ct), cancellationToken);

    /// <summary>
    /// Asks the device authorization endpoint for a device code (RFC 8628 section 3.1). Failures,
    /// the endpoint's own time limit included, come back as an error result, never as an exception
    /// (cancellation aside).
    /// </summary>
    public async Task<DeviceAuthorizationResult> RequestDeviceAuthorizationAsync(AccountOptions account, string scope, CancellationToken cancellationToken)
    {
        var discoveryProblem = account.DeviceCodeUrl is null ? await EnsureDiscoveredAsync(account, cancellationToken) : null;
        if (account.DeviceCodeUrl is not { } address)
        {
            return new DeviceAuthorizationResult
            {
                Error = "no device_code_url",
                ErrorDescription = discoveryProblem
                    ?? (account.Issuer is { } issuer
                        ? $"account {account.Name}'s issuer {issuer.OriginalString} names no device_authorization_endpoint in its discovery document: set device_code_url"
                        : $"account {account.Name} has no device code endpoint: set device_code_url"),
            };
        }
        DeviceAuthorizationResponse response;
        try
        {
            response = await http.RequestDeviceAuthorizationAsync(new DeviceAuthorizationRequest
            {
                Address = address.AbsoluteUri,
                ClientId = account.ClientId,
                ClientSecret = account.ClientSecret,
                ClientCredentialStyle = ClientCredentialStyle.PostBody,
                Scope = scope,
            }, cancellationToken);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new DeviceAuthorizationResult
            {
                Error = "the device authorization endpoint did not answer",
                ErrorDescription = $"no answer within {RequestTimeout.TotalSeconds:0} seconds",
            };
        }
        using (response)
        {
            if (response.IsError)
            {
                var error = ErrorOf(response, response.ErrorDescription, "the device authorization endpoint");
                return new DeviceAuthorizationResult { Error = error.Error, ErrorDescription = error.ErrorDescription };
            }
            // Google names it verification_url (the draft's name); RFC 8628 and Microsoft verification_uri.
            var verification = response.VerificationUri ?? response.TryGet("verification_url");
            if (string.IsNullOrEmpty(response.DeviceCode) || string.IsNullOrEmpty(response.UserCode)
                || !Uri.TryCreate(verification, UriKind.Absolute, out var verificationUri) || verificationUri.Scheme is not ("https" or "http"))
            {
                return new DeviceAuthorizationResult
                {
                    Error = "invalid_response",
                    ErrorDescription = "the device authorization endpoint answered without a device_code, user_code and http(s) verification_uri",
                };
            }
            // Bounded whatever the provider says: a code lives at most a day (Microsoft gives 15 minutes, Google 30),
            // and a poll comes at least every 5 minutes; beyond that timers and waits would be out of range.
            var lifetime = Math.Min(response.ExpiresIn is > 0 ? response.ExpiresIn.Value : 900, DeviceAuthorizationResult.MaxLifetimeSeconds);
            return new DeviceAuthorizationResult
            {
                DeviceCode = response.DeviceCode,
                UserCode = response.UserCode,
                VerificationUri = verificationUri,
                ExpiresAt = time.GetUtcNow().AddSeconds(lifetime),
                Interval = response.Interval > 0 ? TimeSpan.FromSeconds(Math.Min(response.Interval, DeviceAuthorizationResult.MaxIntervalSeconds)) : DeviceAuthorizationResult.DefaultInterval,
            };
        }
    }

    /// <summary>
    /// One poll of the token endpoint with a device code (RFC 8628 section 3.4): tokens, or an
    /// error whose code says what to do next (<c>authorization_pending</c>, <c>slow_down</c>, …).
    /// </summary>
    public Task<TokenEndpointResult> RequestDeviceTokenAsync(AccountOptions account, string deviceCode, CancellationToken cancellationToken) =>
        SendAsync(account, ProxyMetrics.DeviceCodeGrant, (address, ct) => http.RequestDeviceTokenAsync(new DeviceTokenRequest
        {
            Address = address.AbsoluteUri,
            ClientId = account.ClientId,
            ClientSecret = account.ClientSecret,
            ClientCredentialStyle = ClientCredentialStyle.PostBody,
            DeviceCode = deviceCode,
        }, ct), cancellationToken);

    /// <summary>
    /// Duende turns transport errors into error responses but lets cancellation through, and
    /// HttpClient's own timeout is a cancellation: that one becomes a "did not answer" result.
    /// Every result is counted under <paramref name="grant"/> (a request cancelled by the caller is not).
    /// </summary>
    private async Task<TokenEndpointResult> SendAsync(AccountOptions account, string grant, Func<Uri, CancellationToken, Task<TokenResponse>> request, CancellationToken cancellationToken)
    {
        var (address, missing) = await TokenEndpointAsync(account, cancellationToken);
        if (address is null)
        {
            return missing!;
        }
        var result = await SendAsync(grant, ct => request(address, ct), cancellationToken);
        InvalidateOnEndpointError(account, result);
        return result;
    }

    private async Task<TokenEndpointResult> SendAsync(string grant, Func<CancellationToken, Task<TokenResponse>> request, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        TokenEndpointResult result;
        try
        {
            using var response = await request(cancellationToken);
            result = ToResult(response);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            result = new TokenEndpointResult
            {
                Error = "the token endpoint did not answer",
                ErrorDescription = $"no answer within {RequestTimeout.TotalSeconds:0} seconds",
                Transient = true,
            };
        }
        metrics?.TokenRequest(grant, result, time.GetElapsedTime(started));
        return result;
    }

    private TokenEndpointResult ToResult(TokenResponse response)
    {
        if (response.IsError)
        {
            return ErrorOf(response, response.ErrorDescription, "the token endpoint");
        }
        if (string.IsNullOrEmpty(response.AccessToken))
        {
            return new TokenEndpointResult { Error = "invalid_response", ErrorDescription = "the token endpoint answered without an access_token" };
        }
        var lifetime = response.ExpiresIn > 0 ? response.ExpiresIn : 3600;
        return new TokenEndpointResult
        {
            AccessToken = response.AccessToken,
            RefreshToken = string.IsNullOrEmpty(response.RefreshToken) ? null : response.RefreshToken,
            IdToken = string.IsNullOrEmpty(response.IdentityToken) ? null : response.IdentityToken,
            ExpiresAt = time.GetUtcNow().AddSeconds(lifetime),
        };
    }

    /// <summary>
    /// What a failed answer of a token or device authorization endpoint (<paramref name="endpoint"/>) says,
    /// in one shape for both: the provider's code and first line, the bare code whatever the HTTP status,
    /// and whether trying again unchanged may work.
    /// </summary>
    private static TokenEndpointResult ErrorOf(ProtocolResponse response, string? errorDescription, string endpoint) => response.ErrorType switch
    {
        ResponseErrorType.Protocol => new TokenEndpointResult
        {
            Error = response.Error ?? $"HTTP {(int)response.HttpStatusCode}",
            ErrorDescription = FirstLine(errorDescription),
            Code = response.Error,
            Transient = response.Error == "temporarily_unavailable",
        },
        ResponseErrorType.Exception => new TokenEndpointResult
        {
            Transient = true,
            Error = $"{endpoint} did not answer",
            ErrorDescription = response.Exception is TaskCanceledException or OperationCanceledException
                ? $"no answer within {RequestTimeout.TotalSeconds:0} seconds"
                : FirstLine(response.Exception?.Message ?? response.Error),
        },
        _ => new TokenEndpointResult
        {
            // Google answers authorization_pending with 428 and slow_down with 403: the code decides, not the status.
            Code = response.Json is not null && response.TryGet("error") is { Length: > 0 } bare ? bare : null,
            Transient = (int)response.HttpStatusCode >= 500 || (int)response.HttpStatusCode == 429
                || (response.Json is not null && response.TryGet("error") == "temporarily_unavailable"),
            // A 5xx with a JSON body still carries the provider's error code: keep both.
            Error = response.Json is not null && response.TryGet("error") is { Length: > 0 } code
                ? $"{code} (HTTP {(int)response.HttpStatusCode})"
                : $"HTTP {(int)response.HttpStatusCode} {response.HttpErrorReason}".TrimEnd(),
            ErrorDescription = response.Json is null ? $"the answer was not the JSON of {endpoint}" : FirstLine(errorDescription),
        },
    };

    /// <summary>Microsoft appends "Trace ID: … Correlation ID: … Timestamp: …" (on lines of their own, or not); what comes before holds the AADSTS code and text.</summary>
    private static string? FirstLine(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }
        var end = text.IndexOfAny(['\r', '\n']);
        var line = end < 0 ? text : text[..end];
        var trace = line.IndexOf("Trace ID:", StringComparison.Ordinal);
        line = (trace < 0 ? line : line[..trace]).Trim();
        return line.Length > 400 ? line[..400] + "…" : line;
    }
}
