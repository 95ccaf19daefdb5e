using EmailProxy.Accounts;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Accounts;

public sealed class PasswordVerifierTests
{
    [Fact]
    public void Verify_RightPassword_True()
    {
        var hash = PasswordVerifier.Hash("correct horse");

        Assert.True(new PasswordVerifier().Verify("a", hash, "correct horse"));
    }

    [Fact]
    public void Verify_WrongPassword_False()
    {
        var hash = PasswordVerifier.Hash("correct horse");

        Assert.False(new PasswordVerifier().Verify("a", hash, "Correct horse"));
        Assert.False(new PasswordVerifier().Verify("a", hash, ""));
    }

    [Fact]
    public void Verify_WrongPasswordAfterRightOne_StillFalse()
    {
        var hash = PasswordVerifier.Hash("correct horse");
        var verifier = new PasswordVerifier();

        Assert.True(verifier.Verify("a", hash, "correct horse"));
        Assert.False(verifier.Verify("a", hash, "wrong"));
        Assert.True(verifier.Verify("A", hash, "correct horse"));
    }

    /// <summary>A reload may give the account a new password_hash: the password remembered for the old one must not open it.</summary>
    [Fact]
    public async Task Verify_HashChangedAfterAMatch_OldPasswordNoLongerRemembered()
    {
        var old = PasswordVerifier.Hash("old password");
        var rotated = PasswordVerifier.Hash("new password");
        var verifier = new PasswordVerifier();
        Assert.True(verifier.Verify("a", old, "old password"));

        Assert.False(verifier.Verify("a", rotated, "old password"));
        Assert.Equal(PasswordCheck.Mismatch, await verifier.VerifyAsync("a", rotated, "old password", null, CancellationToken.None).Guarded());
        Assert.True(verifier.Verify("a", rotated, "new password"));
        Assert.False(verifier.Verify("a", old, "new password"));
    }

    [Fact]
    public void Verify_Utf8Password_True()
    {
        var hash = PasswordVerifier.Hash("pässwörd✓");

        Assert.True(new PasswordVerifier().Verify("a", hash, "pässwörd✓"));
        Assert.False(new PasswordVerifier().Verify("a", hash, "passwort"));
    }

    [Fact]
    public void Hash_SamePasswordTwice_DifferentSaltedValues()
    {
        Assert.NotEqual(PasswordVerifier.Hash("x"), PasswordVerifier.Hash("x"));
    }

    [Fact]
    public void IsWellFormed_HashMadeByHash_True()
    {
        Assert.True(PasswordVerifier.IsWellFormed(PasswordVerifier.Hash("anything")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("hunter2")]
    [InlineData("AAAA")]
    [InlineData("$2y$10$abcdefghijklmnopqrstuv")]
    [InlineData("AQAAAA==")]
    public void IsWellFormed_OtherText_False(string text)
    {
        Assert.False(PasswordVerifier.IsWellFormed(text));
    }

    [Fact]
    public void IsWellFormed_MultiMegabyteValue_FalseWithoutCrashing()
    {
        // Valid base64 starting like a real hash (0x01 marker), 16 MiB long: far more than a thread's stack.
        var huge = "AQ" + new string('A', 16 * 1024 * 1024);

        Assert.False(PasswordVerifier.IsWellFormed(huge));
    }

    [Fact]
    public async Task VerifyAsync_RememberedPassword_AnsweredWhileEverySlotIsBlocked()
    {
        var hash = PasswordVerifier.Hash(BlockingKeyDerivation.RightPassword);
        var derivation = new BlockingKeyDerivation(blocks: false);
        var verifier = new PasswordVerifier(derivation, new KeyDerivationPool(slots: 1, maxWaiting: 0));
        Assert.Equal(PasswordCheck.Match, await verifier.VerifyAsync("a", hash, BlockingKeyDerivation.RightPassword, null, CancellationToken.None).Guarded());
        derivation.Hold();

        var guess = verifier.VerifyAsync("a", hash, "guess", null, CancellationToken.None);
        var remembered = await verifier.VerifyAsync("a", hash, BlockingKeyDerivation.RightPassword, null, CancellationToken.None).Guarded();

        Assert.Equal(PasswordCheck.Match, remembered);
        await derivation.WhenStartedAsync(2);
        Assert.Equal(PasswordCheck.Busy, await verifier.VerifyAsync("a", hash, "other guess", null, CancellationToken.None).Guarded());
        derivation.Release();
        Assert.Equal(PasswordCheck.Mismatch, await guess.Guarded());
    }

    [Fact]
    public async Task VerifyAsync_CheckForNoAccount_DerivesButRemembersNothing()
    {
        var hash = PasswordVerifier.Hash("correct horse");
        var verifier = new PasswordVerifier();

        Assert.Equal(PasswordCheck.Match, await verifier.VerifyAsync(null, hash, "correct horse", null, CancellationToken.None).Guarded());
        Assert.Equal(PasswordCheck.Mismatch, await verifier.VerifyAsync(null, hash, "wrong", null, CancellationToken.None).Guarded());
    }
}
