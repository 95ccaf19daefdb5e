namespace EmailProxy.Web;

/// <summary>The body of <c>POST /api/accounts/{name}/signin</c>: <c>browser</c> or <c>device_code</c>; null for the account's own flow.</summary>
internal sealed record ControlSignInRequest(string? Method = null);
