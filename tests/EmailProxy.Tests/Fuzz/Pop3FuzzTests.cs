using EmailProxy.Pop3;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Fuzz;

/// <summary>
/// The POP3 front's fuzz target: the real session on the committed corpus
/// (<c>Corpus/pop3</c>) as it is and on inputs mutated from it. Invariants: the session answers,
/// ends when the input ends (or earlier, on a limit), and logs nothing at error level. See README.md.
/// </summary>
public sealed class Pop3FuzzTests : IDisposable
{
    private static readonly FuzzCorpus Corpus = FuzzCorpus.Load("pop3");

    private readonly TempDirectory _temp = new();
    private readonly SessionFuzzTarget _session;

    public Pop3FuzzTests()
    {
        _session = new SessionFuzzTarget(_temp.Path, (connection, environment, log) => new Pop3Session(connection, environment, SessionHarness.Pop3(), log));
    }

    public static TheoryData<string> Seeds => FuzzCorpus.SeedNames("pop3");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task Pop3Session_CorpusSeed_AnswersAndEndsWithoutAnInternalError(string seed)
    {
        await _session.RunAsync(Corpus.Seed(seed), $"Seed {seed}");
    }

    [Fact]
    public async Task Pop3Session_MutatedCorpus_AnswersAndEndsWithoutAnInternalError()
    {
        var random = new Random(FuzzRun.Seed + 3);
        for (var i = 0; i < FuzzRun.Iterations / 2; i++)
        {
            await _session.RunAsync(Corpus.Next(random), $"Iteration {i} (seed {FuzzRun.Seed})");
        }
    }
}
