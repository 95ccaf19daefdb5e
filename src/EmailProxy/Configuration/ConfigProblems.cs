namespace EmailProxy.Configuration;

/// <summary>The errors and warnings found while reading one file, in the order they were found.</summary>
internal sealed class ConfigProblems
{
    private readonly List<ConfigProblem> _errors = [];
    private readonly List<ConfigProblem> _warnings = [];

    public IReadOnlyList<ConfigProblem> Errors => _errors;

    public IReadOnlyList<ConfigProblem> Warnings => _warnings;

    public void Error(string section, string? key, string? value, string message) => _errors.Add(new(section, key, value, message));

    public void Warn(string section, string? key, string? value, string message) => _warnings.Add(new(section, key, value, message));
}
