namespace EmailProxy.Sasl;

/// <summary>Why a client's SASL exchange gave no credentials; <see cref="None"/> when it did.</summary>
internal enum SaslFailure
{
    None,
    UnknownMechanism,
    Cancelled,
    Malformed,
    ClientGone,
}
