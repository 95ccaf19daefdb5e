namespace EmailProxy.Configuration;

/// <summary>The result of reading a configuration file.</summary>
internal sealed record ConfigReadResult(ProxyConfig? Config, IReadOnlyList<ConfigProblem> Errors, IReadOnlyList<ConfigProblem> Warnings)
{
    /// <summary>The SHA-256 (hex) of the bytes that were read and parsed; null when the file could not be read.</summary>
    public string? ContentHash { get; init; }

    public bool IsValid => Config is not null && Errors.Count == 0;
}
