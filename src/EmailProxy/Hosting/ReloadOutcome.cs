namespace EmailProxy.Hosting;

/// <summary>How one reload ended: applied (with the summary of what changed), or refused (with the errors, as <c>check</c> lists them).</summary>
internal sealed record ReloadOutcome(bool Applied, string Text);
