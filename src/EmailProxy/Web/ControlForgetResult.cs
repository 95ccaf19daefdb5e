namespace EmailProxy.Web;

/// <summary>The answer to <c>POST /api/accounts/{name}/forget</c>: whether the account had tokens (on disk or in memory).</summary>
internal sealed record ControlForgetResult(bool Forgotten);
