namespace EmailProxy.Upstream;

/// <summary>The upstream could not be reached, did not speak, or failed TLS; the message names host:port and the reason.</summary>
internal sealed class UpstreamUnavailableException(string message, Exception? inner = null) : Exception(message, inner);
