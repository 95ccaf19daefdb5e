using System.Security.Cryptography;
using System.Text;
using EmailProxy.OAuth2;
using EmailProxy.Redis;
using EmailProxy.TokenStore;
using Xunit;

namespace EmailProxy.Tests.Redis;

/// <summary>The pending sign-ins' Redis format that needs no Redis: key names, the sealed record, the pub/sub message.</summary>
public sealed class RedisSignInStoreTests
{
    private const string State = "the-state-0123456789abcdefghijklmnopqrstuv";
    private const string Verifier = "the-verifier-0123456789abcdefghijklmnopqrstuvwxyz0123456789ABCDEF";
    private readonly TokenCipher _cipher = new(MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32)));

    private static RedisSignInRecord Browser() => new()
    {
        Account = "Sales@Example.com",
        Method = SignInMethod.Browser,
        ExpiresAt = new DateTimeOffset(2026, 12, 6, 19, 0, 0, TimeSpan.Zero),
        State = State,
        CodeVerifier = Verifier,
        RedirectUri = "http://localhost:8080/",
        AuthorizeUrl = "https://login.example/authorize?state=" + State,
    };

    [Fact]
    public void StateKey_AnyState_HoldsItsSha256NotTheState()
    {
        var key = RedisSignInStore.StateKey(State);

        Assert.Equal("emailproxy:signin:state:" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(State))), key);
        Assert.DoesNotContain(State, key, StringComparison.Ordinal);
    }

    [Fact]
    public void AccountKey_NamesDifferingInCase_SameKey()
    {
        Assert.Equal("emailproxy:signin:account:sales@example.com", RedisSignInStore.AccountKey("Sales@Example.COM"));
        Assert.Equal(RedisSignInStore.AccountKey("sales@example.com"), RedisSignInStore.AccountKey("SALES@example.com"));
    }

    [Fact]
    public void Id_BrowserAndDeviceCode_Sha256OfTheirSecret()
    {
        var device = new RedisSignInRecord
        {
            Account = "a", Method = SignInMethod.DeviceCode, ExpiresAt = DateTimeOffset.UnixEpoch,
            DeviceCode = "dc-secret", UserCode = "ABCD-EFGH", VerificationUri = "https://login.example/devicelogin",
        };

        Assert.Equal(RedisSignInStore.Hash(State), Browser().Id);
        Assert.Equal(RedisSignInStore.Hash("dc-secret"), device.Id);
    }

    [Fact]
    public void Seal_BrowserRecord_OpensToTheSameAndHoldsNoSecretInClear()
    {
        var key = RedisSignInStore.StateKey(State);

        var sealedRecord = RedisSignInStore.Seal(_cipher, key, Browser());
        var opened = RedisSignInStore.Open(_cipher, key, sealedRecord);

        Assert.DoesNotContain(State, sealedRecord, StringComparison.Ordinal);
        Assert.DoesNotContain(Verifier, Encoding.UTF8.GetString(Convert.FromBase64String(sealedRecord)), StringComparison.Ordinal);
        Assert.Equal(("Sales@Example.com", SignInMethod.Browser, State, Verifier, "http://localhost:8080/", Browser().AuthorizeUrl, Browser().ExpiresAt),
            (opened.Account, opened.Method, opened.State, opened.CodeVerifier, opened.RedirectUri, opened.AuthorizeUrl, opened.ExpiresAt));
    }

    [Fact]
    public void Open_SealedUnderAnotherKeyName_Refused()
    {
        var sealedRecord = RedisSignInStore.Seal(_cipher, RedisSignInStore.StateKey(State), Browser());

        Assert.ThrowsAny<CryptographicException>(() => RedisSignInStore.Open(_cipher, RedisSignInStore.StateKey("another-state"), sealedRecord));
        Assert.ThrowsAny<CryptographicException>(() => RedisSignInStore.Open(_cipher, RedisSignInStore.AccountKey("sales@example.com"), sealedRecord));
    }

    [Fact]
    public void Open_SealedWithAnotherMasterKey_Refused()
    {
        var key = RedisSignInStore.StateKey(State);
        var other = new TokenCipher(MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32)));

        Assert.ThrowsAny<CryptographicException>(() => RedisSignInStore.Open(other, key, RedisSignInStore.Seal(_cipher, key, Browser())));
    }

    [Fact]
    public void Open_RecordWithoutItsVerifier_InvalidData()
    {
        var key = RedisSignInStore.StateKey(State);
        var sealedRecord = _cipher.SealRecord(key, Encoding.UTF8.GetBytes("""{"Account":"a","Method":"Browser","ExpiresAt":"2026-12-06T19:00:00+00:00","State":"s"}"""));

        Assert.Throws<InvalidDataException>(() => RedisSignInStore.Open(_cipher, key, sealedRecord));
    }

    [Fact]
    public void ParseMessage_Serialized_RoundTrips()
    {
        var message = new RedisSignInMessage("instance-1", "sales@example.com", Browser().Id, true, "Account sales@example.com is signed in.");

        Assert.Equal(message, RedisSignInStore.ParseMessage(RedisSignInStore.Serialize(message)));
    }

    [Theory]
    [InlineData("")]
    [InlineData("not json")]
    [InlineData("""{"Instance":"i"}""")]
    public void ParseMessage_NotOurs_Null(string text) => Assert.Null(RedisSignInStore.ParseMessage(text));

    [Fact]
    public void ToString_BrowserRecord_NoSecret()
    {
        var text = Browser().ToString();

        Assert.DoesNotContain(State, text, StringComparison.Ordinal);
        Assert.DoesNotContain(Verifier, text, StringComparison.Ordinal);
    }
}
