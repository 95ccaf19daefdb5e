namespace EmailProxy.Configuration;

/// <summary>A <c>[server NAME]</c> section: one upstream provider's hosts, with the default of every key.</summary>
internal sealed record ServerOptions(string Name)
{
    public string? ImapHost { get; init; }
    public int ImapPort { get; init; } = 993;
    public string? SmtpHost { get; init; }
    public int SmtpPort { get; init; } = 587;
    public string? PopHost { get; init; }
    public int PopPort { get; init; } = 995;
    public bool Ssl { get; init; } = true;
    public bool StartTls { get; init; } = true;
    public string? CaFile { get; init; }
}
