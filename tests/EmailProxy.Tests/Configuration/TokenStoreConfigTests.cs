using EmailProxy.Configuration;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Configuration;

/// <summary><c>[general] token_store</c> and <c>redis</c>: read, checked, and the connection string never repeated in a message.</summary>
public sealed class TokenStoreConfigTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private ConfigReadResult Read(string general) =>
        ConfigReader.ReadFile(_temp.WriteFile($"{Guid.NewGuid():N}.config",
            $"[general]\n{general}\n[server s]\nimap_host = imap.example.com\nsmtp_host = smtp.example.com\npop_host = pop.example.com\n[account a@example.com]\nclient_id = id\n"));

    [Fact]
    public void ReadFile_NoTokenStore_IsTheFileStore()
    {
        var result = Read("log_level = info");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(TokenStoreKind.File, result.Config!.General.TokenStore);
        Assert.Null(result.Config.General.Redis);
    }

    [Fact]
    public void ReadFile_RedisWithConnectionString_IsKept()
    {
        var result = Read("token_store = redis\nredis = redis.internal:6380,password=s3cret-pw,ssl=true");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(TokenStoreKind.Redis, result.Config!.General.TokenStore);
        Assert.Equal("redis.internal:6380,password=s3cret-pw,ssl=true", result.Config.General.Redis);
    }

    [Fact]
    public void ReadFile_RedisStoreWithoutConnectionString_IsAnError()
    {
        var result = Read("token_store = redis");

        var error = Assert.Single(result.Errors);
        Assert.Equal(("general", "token_store"), (error.Section, error.Key));
        Assert.Contains("needs redis = host:port", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("password=s3cret-pw")]
    [InlineData("redis.internal:6380,password=s3cret-pw,nosuchoption=1")]
    public void ReadFile_ConnectionStringThatDoesNotParse_IsAnErrorWithoutTheValue(string value)
    {
        var result = Read($"token_store = redis\nredis = {value}");

        var error = Assert.Single(result.Errors);
        Assert.Equal(("general", "redis", null), (error.Section, error.Key, error.Value));
        Assert.DoesNotContain("s3cret-pw", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void ReadFile_RedisWithTheFileStore_IsAWarningWithoutTheValue()
    {
        var result = Read("redis = redis.internal:6380,password=s3cret-pw");

        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        var warning = Assert.Single(result.Warnings);
        Assert.Equal(("general", "redis", null), (warning.Section, warning.Key, warning.Value));
        Assert.Null(result.Config!.General.Redis);
    }

    [Fact]
    public void ReadFile_UnknownTokenStore_IsAnError()
    {
        var result = Read("token_store = postgres");

        var error = Assert.Single(result.Errors);
        Assert.Equal(("general", "token_store"), (error.Section, error.Key));
    }

    [Fact]
    public void OptionsFor_PasswordFromTheEnvironment_WinsAndStartsWithoutGivingUp()
    {
        var options = EmailProxy.Redis.RedisConnection.OptionsFor("redis.internal:6380,password=old", "from-env");

        Assert.Equal("from-env", options.Password);
        Assert.False(options.AbortOnConnectFail);
    }
}
