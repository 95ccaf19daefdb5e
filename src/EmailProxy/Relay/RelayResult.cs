namespace EmailProxy.Relay;

/// <summary>How a relayed session ended and how much it carried.</summary>
internal sealed record RelayResult(long BytesFromClient, long BytesToClient, string EndReason);
