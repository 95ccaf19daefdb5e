namespace EmailProxy.FunctionalTests.Graph;

/// <summary>The requests of <see cref="FakeGraphServer"/> a fault can be set for (<see cref="FakeGraphServer.FailNextAt"/>).</summary>
public enum FakeGraphStep
{
    SendMail,
    CreateDraft,
    PatchDraft,
    AddAttachment,
    CreateUploadSession,
    SendDraft,
    DeleteDraft,
}
