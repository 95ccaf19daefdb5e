namespace EmailProxy.Web;

/// <summary>The answer of <c>POST /api/reload</c> when the configuration was reloaded: the summary the log has too.</summary>
internal sealed record ControlReloadResult(string Summary);
