namespace EmailProxy.Connections;

/// <summary>A line before login looked like HTTP (<see cref="CrossProtocol.LooksLikeHttp(ReadOnlySpan{byte})"/>): the session closes at once.</summary>
internal sealed class CrossProtocolException() : ProtocolLimitException(CrossProtocol.Refusal);
