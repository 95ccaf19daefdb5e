namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>One poll of the token endpoint with a device code: whose code (its user code, or null when the device code was unknown), when, and the answer (an error code, or "tokens").</summary>
internal sealed record FakeDevicePoll(string? UserCode, DateTimeOffset At, string Answer);
