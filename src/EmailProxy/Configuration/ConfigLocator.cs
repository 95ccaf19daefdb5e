namespace EmailProxy.Configuration;

/// <summary>Finds the configuration file: --config, then $EMAILPROXY_CONFIG, then ./emailproxy.config, then /config/emailproxy.config.</summary>
internal static class ConfigLocator
{
    public const string EnvironmentVariable = "EMAILPROXY_CONFIG";
    public const string FileName = "emailproxy.config";
    public const string ContainerPath = "/config/emailproxy.config";

    public static string Locate(string? commandLinePath)
    {
        if (!string.IsNullOrWhiteSpace(commandLinePath))
        {
            return Path.GetFullPath(commandLinePath);
        }
        var fromEnvironment = Environment.GetEnvironmentVariable(EnvironmentVariable);
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return Path.GetFullPath(fromEnvironment);
        }
        var local = Path.GetFullPath(FileName);
        if (File.Exists(local) || !File.Exists(ContainerPath))
        {
            return local;
        }
        return ContainerPath;
    }
}
