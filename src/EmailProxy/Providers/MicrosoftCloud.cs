namespace EmailProxy.Providers;

/// <summary>
/// One of Microsoft's clouds (<c>cloud = global | usgov | usgov-dod | china</c>): where its accounts sign in, the
/// Exchange Online hosts of its built-in upstream, the resource its mail scopes belong to, and its Microsoft Graph host.
/// </summary>
/// <remarks>
/// Sources, checked against Microsoft's own pages:
/// <list type="bullet">
/// <item>Sign-in hosts: "National clouds" of the Microsoft identity platform
/// (https://learn.microsoft.com/entra/identity-platform/authentication-national-cloud), the table of Microsoft Entra
/// authentication endpoints: login.microsoftonline.us for US Government (GCC High and DoD alike),
/// login.partner.microsoftonline.cn for the cloud operated by 21Vianet (its example token endpoint is
/// https://login.partner.microsoftonline.cn/common/oauth2/v2.0/token), login.microsoftonline.com for the global service.
/// The 21Vianet endpoint list (below) names login.partner.microsoftonline.cn too.</item>
/// <item>Graph hosts: "Microsoft Graph national cloud deployments" (https://learn.microsoft.com/graph/deployments):
/// graph.microsoft.us (GCC High), dod-graph.microsoft.us (DoD), microsoftgraph.chinacloudapi.cn (21Vianet); "if
/// you're working in a Microsoft 365 GCC environment, continue using the worldwide endpoints".</item>
/// <item>Exchange hosts: the Office 365 endpoint lists of each instance
/// (https://learn.microsoft.com/microsoft-365/enterprise/microsoft-365-u-s-government-dod-endpoints, …-gcc-high-endpoints,
/// …/urls-and-ip-address-ranges-21vianet). DoD: outlook-dod.office365.us (and webmail.apps.mil) on TCP 143, 25, 587,
/// 993 and 995, so one host serves IMAP, POP and SMTP submission; there is no separate SMTP host. GCC High:
/// outlook.office365.us on the same ports; smtp.office365.us, the usual submission name (as smtp.office365.com is
/// the commercial one's), is not in that list, and a <c>[server]</c> with <c>smtp_host = outlook.office365.us</c> is
/// the list's own choice. 21Vianet: *.partner.outlook.cn (IMAP and POP on partner.outlook.cn, SMTP on
/// smtp.partner.outlook.cn); the list gives only its web ports.</item>
/// <item>The scopes' resource is each cloud's Exchange host, as outlook.office.com is the commercial one's.</item>
/// </list>
/// </remarks>
internal sealed record MicrosoftCloud(string Name, string DisplayName, Uri Authority, string ImapHost, string PopHost, string SmtpHost, string Resource, Uri GraphUrl)
{
    public static readonly MicrosoftCloud Global = new("global", "Microsoft 365 (commercial, GCC)", new Uri("https://login.microsoftonline.com"),
        "outlook.office365.com", "outlook.office365.com", "smtp.office365.com", "https://outlook.office.com", new Uri("https://graph.microsoft.com"));

    /// <summary>GCC High. GCC (moderate) tenants live in the global cloud.</summary>
    public static readonly MicrosoftCloud UsGov = new("usgov", "Microsoft 365 GCC High", new Uri("https://login.microsoftonline.us"),
        "outlook.office365.us", "outlook.office365.us", "smtp.office365.us", "https://outlook.office365.us", new Uri("https://graph.microsoft.us"));

    public static readonly MicrosoftCloud UsGovDod = new("usgov-dod", "Microsoft 365 DoD", new Uri("https://login.microsoftonline.us"),
        "outlook-dod.office365.us", "outlook-dod.office365.us", "outlook-dod.office365.us", "https://outlook-dod.office365.us", new Uri("https://dod-graph.microsoft.us"));

    public static readonly MicrosoftCloud China = new("china", "Microsoft 365 operated by 21Vianet", new Uri("https://login.partner.microsoftonline.cn"),
        "partner.outlook.cn", "partner.outlook.cn", "smtp.partner.outlook.cn", "https://partner.outlook.cn", new Uri("https://microsoftgraph.chinacloudapi.cn"));

    public static readonly IReadOnlyList<MicrosoftCloud> All = [Global, UsGov, UsGovDod, China];

    /// <summary>The delegated scopes of IMAP, POP and SMTP on this cloud's Exchange, with offline_access for a refresh token.</summary>
    public string Scope => $"{Resource}/IMAP.AccessAsUser.All {Resource}/POP.AccessAsUser.All {Resource}/SMTP.Send offline_access";

    /// <summary>
    /// The scope of an app-only (client credentials) token for this cloud's Exchange: its <c>.default</c>. The
    /// commercial cloud's is written with outlook.office365.com, as Microsoft's app-only page writes it.
    /// </summary>
    public string AppOnlyScope => this == Global ? "https://outlook.office365.com/.default" : $"{Resource}/.default";

    /// <summary>The built-in upstream of accounts of this cloud that name no <c>[server]</c>.</summary>
    public Configuration.ServerOptions Upstream => new(Name == Global.Name ? "microsoft" : $"microsoft-{Name}")
    {
        ImapHost = ImapHost,
        ImapPort = 993,
        PopHost = PopHost,
        PopPort = 995,
        SmtpHost = SmtpHost,
        SmtpPort = 587,
        Ssl = true,
        StartTls = true,
    };

    /// <summary>The cloud of a <c>cloud</c> value (case-insensitive), or null.</summary>
    public static MicrosoftCloud? Find(string name) =>
        All.FirstOrDefault(cloud => cloud.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// The cloud whose Exchange, sign-in or Graph host <paramref name="host"/> is, or null when it is none of them
    /// (a host of another provider, a test server). Used to warn when a server and an account's cloud disagree.
    /// </summary>
    public static MicrosoftCloud? OfHost(string host)
    {
        var h = host.Trim().TrimEnd('.').ToLowerInvariant();
        if (h.EndsWith("office365.us", StringComparison.Ordinal) || h.EndsWith("microsoftonline.us", StringComparison.Ordinal))
        {
            return h.Contains("-dod", StringComparison.Ordinal) ? UsGovDod : UsGov;
        }
        if (h == "webmail.apps.mil")
        {
            // DoD's other Exchange host in its endpoint list (IMAP, POP and SMTP ports as outlook-dod.office365.us).
            return UsGovDod;
        }
        if (h.EndsWith("outlook.cn", StringComparison.Ordinal) || h.EndsWith("microsoftonline.cn", StringComparison.Ordinal) || h.EndsWith("chinacloudapi.cn", StringComparison.Ordinal))
        {
            return China;
        }
        if (h.EndsWith("office365.com", StringComparison.Ordinal) || h.EndsWith("outlook.office.com", StringComparison.Ordinal) || h == "outlook.com"
            || h.EndsWith(".outlook.com", StringComparison.Ordinal) || h.EndsWith("login.microsoftonline.com", StringComparison.Ordinal))
        {
            return Global;
        }
        return null;
    }
}
