namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>A device authorization issued by <see cref="FakeIdentityServer"/>: its two codes, and what the person did with it.</summary>
internal sealed class FakeDeviceCode(string deviceCode, string userCode, string clientId, string scope, DateTimeOffset expiresAt)
{
    public string DeviceCode { get; } = deviceCode;

    public string UserCode { get; } = userCode;

    public string ClientId { get; } = clientId;

    public string Scope { get; } = scope;

    public DateTimeOffset ExpiresAt { get; set; } = expiresAt;

    /// <summary>Who entered the code and signed in (null while nobody has).</summary>
    public string? ApprovedAs { get; set; }

    public bool Declined { get; set; }

    public bool Redeemed { get; set; }
}
