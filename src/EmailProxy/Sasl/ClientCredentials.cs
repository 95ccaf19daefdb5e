namespace EmailProxy.Sasl;

/// <summary>A user name and password a client gave, by LOGIN, USER/PASS or a SASL mechanism.</summary>
internal sealed record ClientCredentials(string Username, string Password)
{
    /// <summary>Never prints the password.</summary>
    public override string ToString() => $"ClientCredentials {{ Username = {Username} }}";
}
