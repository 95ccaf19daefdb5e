namespace EmailProxy.Configuration;

/// <summary>One thing wrong (or doubtful) in the configuration file, located by section and key.</summary>
internal sealed record ConfigProblem(string Section, string? Key, string? Value, string Message)
{
    public override string ToString()
    {
        var where = $"[{Section}]";
        if (Key is not null)
        {
            where += Value is null ? $" {Key}" : $" {Key} = '{Value}'";
        }
        return $"{where}: {Message}";
    }
}

/// <summary>The result of reading a configuration file.</summary>
internal sealed record ConfigReadResult(ProxyConfig? Config, IReadOnlyList<ConfigProblem> Errors, IReadOnlyList<ConfigProblem> Warnings)
{
    public bool IsValid => Config is not null && Errors.Count == 0;
}
