namespace EmailProxy.Sasl;

/// <summary>The SASL mechanism the proxy logs in upstream with (<c>sasl = xoauth2 | oauthbearer</c>).</summary>
internal enum SaslMechanism
{
    /// <summary>Google's and Microsoft's XOAUTH2 (<see cref="XOAuth2"/>).</summary>
    XOAuth2,

    /// <summary>RFC 7628 OAUTHBEARER (<see cref="OAuthBearer"/>).</summary>
    OAuthBearer,
}
