namespace EmailProxy.Configuration;

/// <summary>The result of reading a configuration file.</summary>
internal sealed record ConfigReadResult(ProxyConfig? Config, IReadOnlyList<ConfigProblem> Errors, IReadOnlyList<ConfigProblem> Warnings)
{
    public bool IsValid => Config is not null && Errors.Count == 0;
}
