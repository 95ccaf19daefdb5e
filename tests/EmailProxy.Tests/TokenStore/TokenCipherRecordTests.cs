using System.Security.Cryptography;
using System.Text;
using EmailProxy.TokenStore;
using Xunit;

namespace EmailProxy.Tests.TokenStore;

/// <summary><see cref="TokenCipher.SealRecord"/> and <see cref="TokenCipher.OpenRecord"/>: other records sealed as the token secrets are.</summary>
public sealed class TokenCipherRecordTests
{
    private readonly TokenCipher _cipher = new(MasterKey.FromBytes(RandomNumberGenerator.GetBytes(32)));

    [Fact]
    public void OpenRecord_SameAssociatedData_GivesThePlaintext()
    {
        var sealedRecord = _cipher.SealRecord("emailproxy:x", "secret text"u8);

        Assert.Equal("secret text", Encoding.UTF8.GetString(_cipher.OpenRecord("emailproxy:x", sealedRecord)));
    }

    [Fact]
    public void SealRecord_TwiceTheSame_DifferentBlobs()
    {
        Assert.NotEqual(_cipher.SealRecord("k", "same"u8), _cipher.SealRecord("k", "same"u8));
    }

    [Fact]
    public void OpenRecord_OtherAssociatedData_Refused()
    {
        var sealedRecord = _cipher.SealRecord("emailproxy:x", "secret text"u8);

        Assert.ThrowsAny<CryptographicException>(() => _cipher.OpenRecord("emailproxy:y", sealedRecord));
    }

    [Fact]
    public void OpenRecord_ChangedByte_Refused()
    {
        var blob = Convert.FromBase64String(_cipher.SealRecord("k", "secret text"u8));
        blob[^1] ^= 1;

        Assert.ThrowsAny<CryptographicException>(() => _cipher.OpenRecord("k", Convert.ToBase64String(blob)));
    }

    [Fact]
    public void OpenRecord_Truncated_InvalidData()
    {
        Assert.Throws<InvalidDataException>(() => _cipher.OpenRecord("k", Convert.ToBase64String(new byte[10])));
    }

    [Fact]
    public void OpenRecord_TokenBlobOfAccountNamedAsTheRecord_Refused()
    {
        // A token blob is bound to "emailproxy-tokens-v1:name", a record to "emailproxy-record-v1:name": neither opens as the other.
        var tokens = _cipher.Seal("a@example.com", new TokenSecrets { AccessToken = "access", RefreshToken = "refresh" });

        Assert.ThrowsAny<CryptographicException>(() => _cipher.OpenRecord("a@example.com", tokens));
    }
}
