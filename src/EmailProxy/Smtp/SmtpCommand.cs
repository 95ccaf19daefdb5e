namespace EmailProxy.Smtp;

/// <summary>A client's SMTP command line split into its verb (upper-cased) and the rest.</summary>
internal readonly record struct SmtpCommand(string Verb, string Argument)
{
    public static SmtpCommand Parse(string line)
    {
        var trimmed = line.TrimStart();
        var space = trimmed.IndexOf(' ');
        return space < 0
            ? new SmtpCommand(trimmed.ToUpperInvariant(), "")
            : new SmtpCommand(trimmed[..space].ToUpperInvariant(), trimmed[(space + 1)..].Trim());
    }

    /// <summary>AUTH's arguments may be credentials: only the verb is ever printed.</summary>
    public override string ToString() => Verb;
}
