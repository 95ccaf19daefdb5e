namespace EmailProxy.OAuth2;

/// <summary>How a person signs an account in: in a browser (authorization code, served redirect or pasted address) or with a device code.</summary>
internal enum SignInMethod
{
    Browser,
    DeviceCode,
}
