namespace EmailProxy.Web;

/// <summary>A control endpoint's refusal (unknown account, app-only account, bad body): one line a person reads.</summary>
internal sealed record ControlError(string Error);
