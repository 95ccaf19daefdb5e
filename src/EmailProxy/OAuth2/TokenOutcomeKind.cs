namespace EmailProxy.OAuth2;

/// <summary>What kind of answer a <see cref="TokenOutcome"/> is.</summary>
internal enum TokenOutcomeKind
{
    Token,
    SignInRequired,
    Failed,
}
