using System.Text;
using EmailProxy.Sasl;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Sasl;

public sealed class SaslServerTests
{
    private readonly Queue<string?> _clientLines = new();
    private readonly List<string> _prompts = [];

    private static string B64(string text) => Convert.ToBase64String(Encoding.UTF8.GetBytes(text));

    /// <summary>The scripted client: records the prompt, answers with the next queued line (null plays a disconnect).</summary>
    private ValueTask<string?> Challenge(string base64Prompt, CancellationToken cancellationToken)
    {
        _prompts.Add(base64Prompt);
        Assert.True(_clientLines.Count > 0, $"unexpected challenge \"{base64Prompt}\": the script has no more client lines");
        return ValueTask.FromResult(_clientLines.Dequeue());
    }

    private Task<SaslResult> NegotiateAsync(string mechanism, string? initialResponse, params string?[] clientLines)
    {
        foreach (var line in clientLines)
        {
            _clientLines.Enqueue(line);
        }
        return SaslServer.NegotiateAsync(mechanism, initialResponse, Challenge, CancellationToken.None).Guarded();
    }

    private static void AssertCredentials(SaslResult result, string username, string password)
    {
        Assert.Equal(SaslFailure.None, result.Failure);
        Assert.NotNull(result.Credentials);
        Assert.Equal(username, result.Credentials.Username);
        Assert.Equal(password, result.Credentials.Password);
    }

    private static void AssertFailure(SaslResult result, SaslFailure failure)
    {
        Assert.Equal(failure, result.Failure);
        Assert.Null(result.Credentials);
    }

    [Fact]
    public async Task NegotiateAsync_PlainWithInitialResponse_ReturnsCredentialsWithoutChallenge()
    {
        var result = await NegotiateAsync("PLAIN", B64("\0alice@example.com\0s3cret"));

        AssertCredentials(result, "alice@example.com", "s3cret");
        Assert.Empty(_prompts);
    }

    [Fact]
    public async Task NegotiateAsync_PlainWithAuthzid_ReturnsAuthcid()
    {
        var result = await NegotiateAsync("PLAIN", B64("admin@example.com\0alice@example.com\0s3cret"));

        AssertCredentials(result, "alice@example.com", "s3cret");
        Assert.Empty(_prompts);
    }

    [Fact]
    public async Task NegotiateAsync_PlainWithoutInitialResponse_ChallengesWithEmptyPromptThenReadsCredentials()
    {
        var result = await NegotiateAsync("PLAIN", null, B64("\0alice@example.com\0s3cret"));

        AssertCredentials(result, "alice@example.com", "s3cret");
        Assert.Equal([""], _prompts);
    }

    [Fact]
    public async Task NegotiateAsync_PlainWithEqualsInitialResponse_IsTreatedAsNoneAndChallenges()
    {
        var result = await NegotiateAsync("PLAIN", "=", B64("\0alice@example.com\0s3cret"));

        AssertCredentials(result, "alice@example.com", "s3cret");
        Assert.Equal([""], _prompts);
    }

    [Fact]
    public async Task NegotiateAsync_LoginWithoutInitialResponse_PromptsForUsernameThenPassword()
    {
        var result = await NegotiateAsync("LOGIN", null, B64("alice@example.com"), B64("s3cret"));

        AssertCredentials(result, "alice@example.com", "s3cret");
        Assert.Equal(["VXNlcm5hbWU6", "UGFzc3dvcmQ6"], _prompts);
        Assert.Equal("Username:", Encoding.ASCII.GetString(Convert.FromBase64String(_prompts[0])));
        Assert.Equal("Password:", Encoding.ASCII.GetString(Convert.FromBase64String(_prompts[1])));
    }

    [Fact]
    public async Task NegotiateAsync_LoginWithUsernameAsInitialResponse_PromptsOnlyForPassword()
    {
        var result = await NegotiateAsync("LOGIN", B64("alice@example.com"), B64("s3cret"));

        AssertCredentials(result, "alice@example.com", "s3cret");
        Assert.Equal([SaslServer.LoginPasswordPrompt], _prompts);
    }

    [Fact]
    public async Task NegotiateAsync_LoginWithEqualsInitialResponse_IsTreatedAsNoneAndPromptsForUsername()
    {
        var result = await NegotiateAsync("LOGIN", "=", B64("alice@example.com"), B64("s3cret"));

        AssertCredentials(result, "alice@example.com", "s3cret");
        Assert.Equal([SaslServer.LoginUserPrompt, SaslServer.LoginPasswordPrompt], _prompts);
    }

    [Fact]
    public async Task NegotiateAsync_PlainStarAsInitialResponse_Cancelled()
    {
        AssertFailure(await NegotiateAsync("PLAIN", "*"), SaslFailure.Cancelled);
        Assert.Empty(_prompts);
    }

    [Fact]
    public async Task NegotiateAsync_PlainStarAfterChallenge_Cancelled()
    {
        AssertFailure(await NegotiateAsync("PLAIN", null, "*"), SaslFailure.Cancelled);
        Assert.Equal([""], _prompts);
    }

    [Fact]
    public async Task NegotiateAsync_LoginStarAsInitialResponse_Cancelled()
    {
        AssertFailure(await NegotiateAsync("LOGIN", "*"), SaslFailure.Cancelled);
        Assert.Empty(_prompts);
    }

    [Fact]
    public async Task NegotiateAsync_LoginStarAtUsernamePrompt_CancelledWithoutPasswordPrompt()
    {
        AssertFailure(await NegotiateAsync("LOGIN", null, "*"), SaslFailure.Cancelled);
        Assert.Equal([SaslServer.LoginUserPrompt], _prompts);
    }

    [Fact]
    public async Task NegotiateAsync_LoginStarAtPasswordPrompt_Cancelled()
    {
        AssertFailure(await NegotiateAsync("LOGIN", null, B64("alice@example.com"), "*"), SaslFailure.Cancelled);
        Assert.Equal([SaslServer.LoginUserPrompt, SaslServer.LoginPasswordPrompt], _prompts);
    }

    [Fact]
    public async Task NegotiateAsync_LoginStarWithCrLfAtPasswordPrompt_Cancelled()
    {
        AssertFailure(await NegotiateAsync("LOGIN", B64("alice@example.com"), " *\r\n"), SaslFailure.Cancelled);
    }

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("LOGIN")]
    public async Task NegotiateAsync_InvalidBase64InitialResponse_Malformed(string mechanism)
    {
        AssertFailure(await NegotiateAsync(mechanism, "not base64!"), SaslFailure.Malformed);
        Assert.Empty(_prompts);
    }

    [Fact]
    public async Task NegotiateAsync_PlainInvalidBase64AfterChallenge_Malformed()
    {
        AssertFailure(await NegotiateAsync("PLAIN", null, "AGFsaWNl*"), SaslFailure.Malformed);
    }

    [Fact]
    public async Task NegotiateAsync_LoginInvalidBase64Password_Malformed()
    {
        AssertFailure(await NegotiateAsync("LOGIN", B64("alice@example.com"), "%%%"), SaslFailure.Malformed);
    }

    [Theory]
    [InlineData("alice@example.com s3cret")]
    [InlineData("alice@example.com\0s3cret")]
    [InlineData("\0\0s3cret")]
    public async Task NegotiateAsync_PlainMissingNulsOrUser_Malformed(string message)
    {
        AssertFailure(await NegotiateAsync("PLAIN", B64(message)), SaslFailure.Malformed);
    }

    [Fact]
    public async Task NegotiateAsync_PlainMissingNulsAfterChallenge_Malformed()
    {
        AssertFailure(await NegotiateAsync("PLAIN", null, B64("alice@example.com s3cret")), SaslFailure.Malformed);
    }

    [Theory]
    [InlineData("=")]
    [InlineData("")]
    public async Task NegotiateAsync_LoginEmptyUsername_Malformed(string usernameLine)
    {
        var result = await NegotiateAsync("LOGIN", null, usernameLine, B64("s3cret"));

        AssertFailure(result, SaslFailure.Malformed);
    }

    [Fact]
    public async Task NegotiateAsync_PlainClientDisconnects_ClientGone()
    {
        AssertFailure(await NegotiateAsync("PLAIN", null, [null]), SaslFailure.ClientGone);
        Assert.Equal([""], _prompts);
    }

    [Fact]
    public async Task NegotiateAsync_LoginClientDisconnectsAtUsername_ClientGone()
    {
        AssertFailure(await NegotiateAsync("LOGIN", null, [null]), SaslFailure.ClientGone);
        Assert.Equal([SaslServer.LoginUserPrompt], _prompts);
    }

    [Fact]
    public async Task NegotiateAsync_LoginClientDisconnectsAtPassword_ClientGone()
    {
        AssertFailure(await NegotiateAsync("LOGIN", B64("alice@example.com"), [null]), SaslFailure.ClientGone);
        Assert.Equal([SaslServer.LoginPasswordPrompt], _prompts);
    }

    [Theory]
    [InlineData("CRAM-MD5")]
    [InlineData("XOAUTH2")]
    [InlineData("")]
    public async Task NegotiateAsync_UnknownMechanism_UnknownMechanismWithoutChallenge(string mechanism)
    {
        AssertFailure(await NegotiateAsync(mechanism, null), SaslFailure.UnknownMechanism);
        Assert.Empty(_prompts);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("Plain")]
    public async Task NegotiateAsync_PlainMechanismNameAnyCase_IsAccepted(string mechanism)
    {
        AssertCredentials(await NegotiateAsync(mechanism, B64("\0alice@example.com\0s3cret")), "alice@example.com", "s3cret");
    }

    [Theory]
    [InlineData("login")]
    [InlineData("LoGiN")]
    public async Task NegotiateAsync_LoginMechanismNameAnyCase_IsAccepted(string mechanism)
    {
        var result = await NegotiateAsync(mechanism, null, B64("alice@example.com"), B64("s3cret"));

        AssertCredentials(result, "alice@example.com", "s3cret");
        Assert.Equal([SaslServer.LoginUserPrompt, SaslServer.LoginPasswordPrompt], _prompts);
    }

    [Fact]
    public async Task NegotiateAsync_PlainUtf8UserAndPassword_AreDecoded()
    {
        var result = await NegotiateAsync("PLAIN", B64("\0jürgen@exämple.com\0pässwörd✓"));

        AssertCredentials(result, "jürgen@exämple.com", "pässwörd✓");
    }

    [Fact]
    public async Task NegotiateAsync_LoginUtf8UserAndPassword_AreDecoded()
    {
        var result = await NegotiateAsync("LOGIN", null, B64("jürgen@exämple.com"), B64("pässwörd✓ 密码"));

        AssertCredentials(result, "jürgen@exämple.com", "pässwörd✓ 密码");
    }

    [Fact]
    public async Task NegotiateAsync_LoginEmptyPassword_IsKept()
    {
        AssertCredentials(await NegotiateAsync("LOGIN", B64("alice@example.com"), "="), "alice@example.com", "");
    }

    [Fact]
    public async Task ToString_SuccessfulResult_NeverContainsPassword()
    {
        var result = await NegotiateAsync("PLAIN", B64("\0alice@example.com\0Sup3r-S3cret-Pw"));

        var text = result.ToString();

        Assert.Contains("alice@example.com", text);
        Assert.DoesNotContain("Sup3r-S3cret-Pw", text);
        Assert.DoesNotContain("Sup3r-S3cret-Pw", result.Credentials!.ToString());
    }
}
