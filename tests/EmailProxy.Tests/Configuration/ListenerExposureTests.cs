using EmailProxy.Accounts;
using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Configuration;

/// <summary>Listeners off loopback, read from files: mail listeners against accounts without password_hash, and the HTTP listener against admin_password.</summary>
public sealed class ListenerExposureTests : IDisposable
{
    private static readonly string Hash = PasswordVerifier.Hash("correct horse");

    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ConfigReadResult Read(string general, params string[] accounts)
    {
        // The server has a host for every protocol, so that no listener draws ConfigLint's missing-host warning.
        var ini = $"[general]\n{general}\n[server s]\nimap_host = imap.example.com\nsmtp_host = smtp.example.com\npop_host = pop.example.com\n"
            + string.Concat(accounts.Select(a => $"[account {a}]\nclient_id = id\n"
                + (a.StartsWith("hashed", StringComparison.Ordinal) ? $"password_hash = {Hash}\n" : "")));
        return ConfigReader.ReadFile(_temp.WriteFile($"{Guid.NewGuid():N}.config", ini));
    }

    [Theory]
    [InlineData("imap_listen = 0.0.0.0:1993", "imap_listen", "0.0.0.0:1993")]
    [InlineData("smtp_listen = *:1587", "smtp_listen", "0.0.0.0:1587")]
    [InlineData("pop_listen = [::]:1995", "pop_listen", "[::]:1995")]
    [InlineData("imap_listen = 192.168.1.20:1993", "imap_listen", "192.168.1.20:1993")]
    [InlineData("smtp_listen = [::ffff:10.0.0.1]:1587", "smtp_listen", "[::ffff:10.0.0.1]:1587")]
    public void ReadFile_MailListenerOffLoopbackAndAnAccountWithoutHash_IsAnErrorThatSaysTheFix(string line, string key, string value)
    {
        var result = Read(line, "hashed@example.com", "open@example.com");

        Assert.False(result.IsValid);
        var error = Assert.Single(result.Errors);
        Assert.Equal(("general", key, value), (error.Section, error.Key, error.Value));
        Assert.Equal(
            $"[general] {key} = '{value}': is reachable from other machines but [account open@example.com] has no password_hash, so anyone who reaches it could use that mailbox. "
            + "Fix: set password_hash (from 'emailproxy hash-password') on that account, or listen on 127.0.0.1, or set allow_open_relay = true if this is on purpose",
            error.ToString());
    }

    [Fact]
    public void ReadFile_SeveralOpenListenersAndAccounts_OneErrorPerListenerNamingTheAccounts()
    {
        var result = Read("imap_listen = 0.0.0.0:1993\nsmtp_listen = 0.0.0.0:1587\npop_listen = 127.0.0.1:1995",
            "b1", "hashed", "a1", "c1", "d1", "e1", "f1", "g1");

        Assert.Equal(["imap_listen", "smtp_listen"], result.Errors.Select(e => e.Key));
        Assert.All(result.Errors, e => Assert.Contains(
            "[account a1], [account b1], [account c1], [account d1], [account e1] and 2 more have no password_hash, so anyone who reaches it could use those mailboxes. Fix: set password_hash (from 'emailproxy hash-password') on each of them",
            e.Message, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("imap_listen = 0.0.0.0:1993")]
    [InlineData("imap_listen = [::]:1993\nsmtp_listen = 192.168.1.20:1587\npop_listen = *:1995")]
    public void ReadFile_OpenListenerAndEveryAccountHashed_IsValidWithoutAWarning(string lines)
    {
        var result = Read(lines, "hashed1", "hashed2");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Empty(result.Warnings);
    }

    [Theory]
    [InlineData("imap_listen = 127.0.0.1:1993\nsmtp_listen = [::1]:1587\npop_listen = localhost:1995")]
    [InlineData("imap_listen = 127.0.0.2:1993\nsmtp_listen = [::ffff:127.0.0.1]:1587\npop_listen = off")]
    public void ReadFile_LoopbackListenersAndAccountsWithoutHash_IsValidWithoutAWarning(string lines)
    {
        var result = Read(lines, "open");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Empty(result.Warnings);
    }

    [Fact]
    public void ReadFile_OpenListenerWithAllowOpenRelay_IsValidWithAWarningPerListener()
    {
        var result = Read("allow_open_relay = true\nimap_listen = 0.0.0.0:1993\nsmtp_listen = 0.0.0.0:1587", "open1", "open2");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.True(result.Config!.General.AllowOpenRelay);
        Assert.Equal(["imap_listen", "smtp_listen"], result.Warnings.Select(w => w.Key));
        Assert.Equal(
            "[general] imap_listen = '0.0.0.0:1993': is reachable from other machines and [account open1], [account open2] have no password_hash: anyone who reaches it can use those mailboxes (allowed by allow_open_relay = true)",
            result.Warnings[0].ToString());
    }

    [Fact]
    public void ReadFile_AllowOpenRelayWithNothingOpen_StillWarns()
    {
        var result = Read("allow_open_relay = yes", "open");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(("general", "allow_open_relay"), (warning.Section, warning.Key));
        Assert.Contains("nothing is open now", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_AllowOpenRelayNotABoolean_IsAnError()
    {
        var result = Read("allow_open_relay = sure", "hashed");

        var error = Assert.Single(result.Errors);
        Assert.Equal("[general] allow_open_relay = 'sure': must be true or false", error.ToString());
    }

    [Theory]
    [InlineData("web_listen = 0.0.0.0:18089", "web_listen", "0.0.0.0:18089", "0.0.0.0:18089")]
    [InlineData("web_listen = [::]:8080", "web_listen", "[::]:8080", "[::]:8080")]
    [InlineData("redirect_uri = http://192.168.1.20:18089", "redirect_uri", "http://192.168.1.20:18089", "192.168.1.20:18089")]
    public void ReadFile_HttpListenerOffLoopbackWithoutAdminPassword_IsAnErrorThatSaysTheFix(string line, string key, string value, string bound)
    {
        var result = Read(line, "hashed");

        var error = Assert.Single(result.Errors);
        Assert.Equal(("general", key, value), (error.Section, error.Key, error.Value));
        Assert.StartsWith($"the HTTP listener on {bound} is reachable from other machines, so admin_password is required: set admin_password = <the output of 'emailproxy hash-password'>, or listen on loopback (web_listen = 127.0.0.1:",
            error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_HttpListenerOffLoopbackWithAdminPassword_IsValid()
    {
        var result = Read($"web_listen = 0.0.0.0:18089\nadmin_password = {Hash}", "hashed");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Empty(result.Warnings);
        Assert.Equal(Hash, result.Config!.General.AdminPassword);
        Assert.Equal("0.0.0.0:18089", result.Config.General.WebListen!.ToString());
    }

    [Fact]
    public void ReadFile_AdminPasswordNotAHash_IsAnErrorWithoutTheValue()
    {
        var result = Read("admin_password = hunter2", "hashed");

        var error = Assert.Single(result.Errors);
        Assert.Equal("[general] admin_password: is not a value made by 'emailproxy hash-password'", error.ToString());
    }

    [Theory]
    [InlineData("mail-proxy.local:18089")]
    [InlineData("18089")]
    [InlineData("127.0.0.1:")]
    public void ReadFile_WebListenNotAnAddress_IsAnError(string value)
    {
        var result = Read($"web_listen = {value}", "hashed");

        var error = Assert.Single(result.Errors);
        Assert.Equal(("general", "web_listen", value), (error.Section, error.Key, error.Value));
    }

    [Fact]
    public void ReadFile_RedirectUriOnAHostName_IsValidWithAHintToSetWebListen()
    {
        var result = Read("redirect_uri = http://mail-proxy:18089", "hashed");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(
            "[general] redirect_uri = 'http://mail-proxy:18089': its host is a name, so the HTTP listener binds 127.0.0.1:18089 (loopback) only; if browsers on other machines must reach it, set web_listen (e.g. web_listen = 0.0.0.0:18089, with admin_password)",
            warning.ToString());
    }

    [Fact]
    public void ReadFile_RedirectUriOnAHostNameWithWebListen_HasNoHint()
    {
        var result = Read($"redirect_uri = http://mail-proxy:18089\nweb_listen = 0.0.0.0:18089\nadmin_password = {Hash}", "hashed");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Empty(result.Warnings);
    }
}
