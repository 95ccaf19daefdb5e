using EmailProxy.Accounts;
using EmailProxy.Configuration;

namespace EmailProxy.Web;

/// <summary>
/// What the operator does about an account's last error, in one sentence for the status page. The
/// error's own text (from <see cref="LoginService"/>, the upstream or the provider, with its AADSTS
/// code) says what happened and often names the exact setting; this says which way to go.
/// </summary>
internal static class StatusFix
{
    public static string ForLogin(AccountOptions account, LoginFailure failure) => failure switch
    {
        LoginFailure.SignInRequired when account.Flow == OAuthFlow.DeviceCode =>
            $"Press \"Show device code\" below and enter the code as {account.Username} (or run emailproxy auth {account.Name}), then let the mail client log in again.",
        LoginFailure.SignInRequired =>
            $"Press \"Sign in\" below and sign in as {account.Username} (or run emailproxy auth {account.Name}), then let the mail client log in again.",
        LoginFailure.WrongPassword =>
            $"The mail client's password is not the one whose hash is password_hash in [account {account.Name}]: type it again in the client, or make a new hash with emailproxy hash-password.",
        LoginFailure.Rejected =>
            "The mail server refused the token: follow the hint in the error above (the mailbox's protocol setting, the app's permissions or the scope), then sign in again if it says so.",
        LoginFailure.TokenUnavailable =>
            $"The proxy could not get a token from {account.ProviderDisplayName}: check that this machine reaches the token endpoint; the next login tries again.",
        _ => "The mail server or the network did not answer: check that this machine reaches the server; the next login tries again.",
    };

    public static string ForSignIn(AccountOptions account) => account.Flow == OAuthFlow.DeviceCode
        ? $"Follow the text above, then press \"Show device code\" again and enter the new code as {account.Username}."
        : $"Follow the text above, then press \"Sign in\" again and sign in as {account.Username}.";
}
