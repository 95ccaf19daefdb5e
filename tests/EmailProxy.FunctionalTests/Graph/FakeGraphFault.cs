namespace EmailProxy.FunctionalTests.Graph;

/// <summary>What <see cref="FakeGraphServer"/> answers the next sendMail instead of accepting it.</summary>
public enum FakeGraphFault
{
    Unauthorized,
    AccessDenied,
    SendAsDenied,
    TooLarge,
    Throttled,
    NotJson,

    /// <summary>Reads the request, then drops the connection without an answer (for the proxy the message may have been sent).</summary>
    DropConnection,

    /// <summary>Reads the request, then never answers: the response is held until the client gives up or the server stops.</summary>
    Hang,
}
