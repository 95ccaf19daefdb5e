namespace EmailProxy.Configuration;

/// <summary>The words of <see cref="LocalTlsMode"/> as the configuration file writes them: read by the section reader, written in texts.</summary>
internal static class LocalTlsModeNames
{
    public static readonly (string Name, LocalTlsMode Value)[] All =
        [("auto", LocalTlsMode.Auto), ("starttls", LocalTlsMode.StartTls), ("implicit", LocalTlsMode.Implicit), ("off", LocalTlsMode.Off)];

    /// <summary>The word for <paramref name="mode"/> (<c>starttls</c>…).</summary>
    public static string Of(LocalTlsMode mode) => All.First(entry => entry.Value == mode).Name;
}
