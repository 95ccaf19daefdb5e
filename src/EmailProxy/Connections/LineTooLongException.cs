namespace EmailProxy.Connections;

/// <summary>A peer sent a line longer than the protocol's limit.</summary>
internal sealed class LineTooLongException(int limit) : ProtocolLimitException($"Line too long: the limit is {limit} bytes")
{
    public int Limit { get; } = limit;
}
