namespace EmailProxy.Sasl;

/// <summary>The result of a client's SASL exchange with the proxy.</summary>
internal sealed record SaslResult(ClientCredentials? Credentials, SaslFailure Failure)
{
    public override string ToString() => $"SaslResult {{ User = {Credentials?.Username}, Failure = {Failure} }}";
}
