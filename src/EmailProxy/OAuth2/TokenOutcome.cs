namespace EmailProxy.OAuth2;

/// <summary>What the token service could give a login: an access token, or why not.</summary>
internal sealed record TokenOutcome(TokenOutcomeKind Kind, string? AccessToken, string Message)
{
    public static TokenOutcome Token(string accessToken) => new(TokenOutcomeKind.Token, accessToken, "");
    public static TokenOutcome SignIn(string reason) => new(TokenOutcomeKind.SignInRequired, null, reason);
    public static TokenOutcome Failed(string message) => new(TokenOutcomeKind.Failed, null, message);

    public override string ToString() => $"TokenOutcome {{ Kind = {Kind}, Message = {Message} }}";
}
