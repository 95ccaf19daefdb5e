namespace EmailProxy.Web;

/// <summary>
/// Everything the status page shows, at one moment (<see cref="StatusReader.ReadAsync"/>), and what
/// <c>/status.json</c> serves: no token, no secret, nothing a client sent but the configured names.
/// </summary>
/// <param name="CaPath">The local CA's certificate file when local TLS generated one (then <c>/ca.pem</c> serves it); else null.</param>
internal sealed record StatusModel(
    string Version,
    DateTimeOffset Now,
    DateTimeOffset StartedAt,
    string ConfigPath,
    string? CaPath,
    bool LocalServerAuth,
    IReadOnlyList<ProtocolSessions> OpenSessions,
    IReadOnlyList<AccountStatus> Accounts);
