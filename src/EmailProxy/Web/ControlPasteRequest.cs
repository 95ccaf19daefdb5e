namespace EmailProxy.Web;

/// <summary>The body of <c>POST /api/signins/{id}/paste</c>: the address the browser ended on. Never logged.</summary>
internal sealed record ControlPasteRequest(string? Address)
{
    public override string ToString() => $"ControlPasteRequest {{ Address = {(Address is null ? "none" : "set")} }}";
}
