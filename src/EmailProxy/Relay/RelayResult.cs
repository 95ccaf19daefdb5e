namespace EmailProxy.Relay;

/// <summary>How a relayed session ended, the failure if it was one, and how much it carried.</summary>
internal sealed record RelayResult(long BytesFromClient, long BytesToClient, RelayEnd End, Exception? Error = null)
{
    /// <summary>The end in words, for the session's log line (never holds relayed data).</summary>
    public string Describe() => End switch
    {
        RelayEnd.ClientClosed => "client: closed",
        RelayEnd.UpstreamClosed => "upstream: closed",
        RelayEnd.ClientFailed => $"client: {Error?.Message ?? "failed"}",
        RelayEnd.UpstreamFailed => $"upstream: {Error?.Message ?? "failed"}",
        _ => "the proxy is shutting down",
    };
}
