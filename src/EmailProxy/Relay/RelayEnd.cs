namespace EmailProxy.Relay;

/// <summary>How a relayed session ended: which side ended it, and whether it closed or failed.</summary>
internal enum RelayEnd
{
    /// <summary>The client closed its side (the server's last answers were let through first).</summary>
    ClientClosed,

    /// <summary>The upstream closed the connection.</summary>
    UpstreamClosed,

    /// <summary>Reading from or writing to the client failed.</summary>
    ClientFailed,

    /// <summary>Reading from or writing to the upstream failed.</summary>
    UpstreamFailed,

    /// <summary>The proxy is stopping.</summary>
    ShuttingDown,
}
