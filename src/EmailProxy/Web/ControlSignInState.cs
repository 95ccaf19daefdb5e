namespace EmailProxy.Web;

/// <summary>
/// A sign-in started through the control endpoints, as <c>GET /api/signins/{id}</c> and
/// <c>POST /api/signins/{id}/paste</c> tell it: <c>pending</c>, <c>succeeded</c> or <c>failed</c>,
/// the message a person reads, and who signed in (when known).
/// </summary>
/// <param name="Password">The first sign-in of an account made from a template: its generated client password, in the first answer that reports the success only.</param>
internal sealed record ControlSignInState(string State, string Message, DateTimeOffset ExpiresAt, string? Identity = null, string? Password = null)
{
    public override string ToString() => $"ControlSignInState {{ State = {State}, Identity = {Identity}, Password = {(Password is null ? "none" : "(hidden)")} }}";

    public const string Pending = "pending";
    public const string Succeeded = "succeeded";
    public const string Failed = "failed";
}
