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
