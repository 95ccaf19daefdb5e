using System.Net;
using Keys = EmailProxy.Configuration.ConfigKeys.General;

namespace EmailProxy.Configuration;

/// <summary>
/// The rule for mail listeners off loopback. An account without <c>password_hash</c> accepts any
/// password: on 127.0.0.1 that trusts this machine's users, but on 0.0.0.0, :: or a LAN address it
/// lends the mailbox (read, send as) to anyone who reaches the port. Such a listener is a
/// configuration error (so <c>emailproxy check</c> finds it and the proxy does not start), unless
/// <c>allow_open_relay = true</c> says it is meant; then it is a warning, logged at every start.
/// </summary>
internal static class ListenerExposure
{
    /// <summary>How many account names a message lists before "and N more".</summary>
    private const int NamesListed = 5;

    public static void Check(GeneralOptions general, IEnumerable<AccountOptions> accounts, ConfigProblems problems)
    {
        var open = accounts.Where(a => a.PasswordHash is null).Select(a => a.Name).Order(StringComparer.OrdinalIgnoreCase).ToList();
        var exposed = new (string Key, IPEndPoint? EndPoint)[]
        {
            (Keys.ImapListen, general.ImapListen),
            (Keys.SmtpListen, general.SmtpListen),
            (Keys.PopListen, general.PopListen),
        }.Where(l => l.EndPoint is { } endPoint && !ListenAddress.IsLoopback(endPoint.Address)).ToList();

        if (open.Count == 0 || exposed.Count == 0)
        {
            if (general.AllowOpenRelay)
            {
                problems.Warn(ConfigKeys.GeneralSection, Keys.AllowOpenRelay, "true",
                    "nothing is open now, but a mail listener moved off loopback would let anyone who reaches it use the accounts without password_hash");
            }
            return;
        }
        var one = open.Count == 1;
        var names = $"{Names(open)} {(one ? "has" : "have")}";
        foreach (var (key, endPoint) in exposed)
        {
            if (general.AllowOpenRelay)
            {
                problems.Warn(ConfigKeys.GeneralSection, key, endPoint!.ToString(),
                    $"is reachable from other machines and {names} no password_hash: anyone who reaches it can use {(one ? "that mailbox" : "those mailboxes")} (allowed by allow_open_relay = true)");
            }
            else
            {
                problems.Error(ConfigKeys.GeneralSection, key, endPoint!.ToString(),
                    $"is reachable from other machines but {names} no password_hash, so anyone who reaches it could use {(one ? "that mailbox" : "those mailboxes")}. "
                    + $"Fix: set password_hash (from 'emailproxy hash-password') on {(one ? "that account" : "each of them")}, or listen on 127.0.0.1, or set allow_open_relay = true if this is on purpose");
            }
        }
    }

    private static string Names(List<string> names)
    {
        var listed = string.Join(", ", names.Take(NamesListed).Select(n => $"[account {n}]"));
        return names.Count > NamesListed ? $"{listed} and {names.Count - NamesListed} more" : listed;
    }
}
