using EmailProxy.Smtp;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Fuzz;

/// <summary>
/// The Smtp front's fuzz target: the real session on the committed corpus
/// (<c>Corpus/smtp</c>) as it is and on inputs mutated from it. Invariants: the session answers,
/// ends when the input ends (or earlier, on a limit), and logs nothing at error level. See README.md.
/// </summary>
public sealed class SmtpFuzzTests : IDisposable
{
    private static readonly FuzzCorpus Corpus = FuzzCorpus.Load("smtp");

    private readonly TempDirectory _temp = new();
    private readonly SessionFuzzTarget _session;

    public SmtpFuzzTests()
    {
        _session = new SessionFuzzTarget(_temp.Path, (connection, environment, log) => new SmtpSession(connection, environment, SessionHarness.Smtp(), log));
    }

    public static TheoryData<string> Seeds => FuzzCorpus.SeedNames("smtp");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task SmtpSession_CorpusSeed_AnswersAndEndsWithoutAnInternalError(string seed)
    {
        await _session.RunAsync(Corpus.Seed(seed), $"Seed {seed}");
    }

    [Fact]
    public async Task SmtpSession_MutatedCorpus_AnswersAndEndsWithoutAnInternalError()
    {
        var random = new Random(FuzzRun.Seed + 2);
        for (var i = 0; i < FuzzRun.Iterations / 2; i++)
        {
            await _session.RunAsync(Corpus.Next(random), $"Iteration {i} (seed {FuzzRun.Seed})");
        }
    }
}
