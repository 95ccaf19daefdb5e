using EmailProxy.Connections;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Fuzz;

/// <summary>
/// A real session of one front, fed one input and then the client's close. The invariants hold
/// whatever the session's policy (BAD and go on, or close): it ends, it answered something (at
/// least its greeting), and nothing was logged at error level (an unexpected exception is logged
/// so by <see cref="MailSession.RunAsync"/>).
/// </summary>
internal sealed class SessionFuzzTarget(string folder, Func<ConnectionContext, SessionEnvironment, ILogger, MailSession> create)
{
    private readonly SessionEnvironment _environment = new SessionHarness(folder, TimeProvider.System).Environment();

    /// <summary>Runs the session on <paramref name="input"/>; <paramref name="context"/> names the iteration in a failure.</summary>
    public async Task RunAsync(byte[] input, string context)
    {
        var log = new RecordingLoggerProvider(LogLevel.Error);
        var (connection, client) = SessionHarness.Connect();
        var session = create(connection, _environment, log.CreateLogger("fuzz"));
        await client.Output.WriteAsync(input);
        await client.Output.CompleteAsync();

        await session.RunAsync().Guarded();

        var answered = await client.Input.ReadAsync().AsTask().Guarded();
        Assert.False(answered.Buffer.IsEmpty, $"{context}: no answer at all.\nInput: {FuzzRun.Describe(input)}");
        client.Input.AdvanceTo(answered.Buffer.End);
        Assert.True(log.Lines.Count == 0, $"{context}: {string.Join("\n", log.Lines)}\nInput: {FuzzRun.Describe(input)}");
    }
}
