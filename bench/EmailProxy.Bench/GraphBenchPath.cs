namespace EmailProxy.Bench;

/// <summary>One way a message travels in the <c>graph</c> mode: its name in the report and how a logged-in SMTP session is opened on it.</summary>
internal sealed record GraphBenchPath(string Name, Func<CancellationToken, Task<RelayClient>> OpenAsync);
