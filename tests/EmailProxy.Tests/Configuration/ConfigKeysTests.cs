using EmailProxy.Configuration;

namespace EmailProxy.Tests.Configuration;

public sealed class ConfigKeysTests
{
    [Fact]
    public void All_EachSection_HoldsItsOwnConstantsCaseInsensitively()
    {
        IReadOnlySet<string> general = ConfigKeys.General.All;
        IReadOnlySet<string> server = ConfigKeys.Server.All;
        IReadOnlySet<string> account = ConfigKeys.Account.All;

        Assert.Contains("LOCAL_TLS", general);
        Assert.Contains(ConfigKeys.General.WaitForAuthorization, general);
        Assert.Contains(ConfigKeys.Server.CaFile, server);
        Assert.Contains(ConfigKeys.Account.DeviceCodeUrl, account);
        Assert.DoesNotContain(ConfigKeys.Server.ImapHost, general);
        Assert.DoesNotContain(ConfigKeys.General.LocalTls, account);
        Assert.DoesNotContain(ConfigKeys.AccountSection, account);
    }
}
