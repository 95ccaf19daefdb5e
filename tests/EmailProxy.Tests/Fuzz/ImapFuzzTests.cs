using System.IO.Pipelines;
using EmailProxy.Connections;
using EmailProxy.Imap;
using EmailProxy.Tests.TestSupport;

namespace EmailProxy.Tests.Fuzz;

/// <summary>
/// The IMAP front's fuzz targets: the command reader alone (fed whole or in small pieces, as a
/// slow client sends) and the real session, on the committed corpus (<c>Corpus/imap</c>) as it is
/// and on inputs mutated from it. Invariants: only protocol errors (BAD or BYE), every read ends,
/// the reader never holds more than <see cref="ImapCommandReader.MaxHeldBytes"/> nor returns more
/// than <see cref="ImapCommandReader.MaxTokensPerCommand"/> tokens, and the session ends without an
/// error-level log. See README.md for longer runs.
/// </summary>
public sealed class ImapFuzzTests : IDisposable
{
    private static readonly FuzzCorpus Corpus = FuzzCorpus.Load("imap");

    private readonly TempDirectory _temp = new();
    private readonly SessionFuzzTarget _session;

    public ImapFuzzTests()
    {
        _session = new SessionFuzzTarget(_temp.Path, (connection, environment, log) => new ImapSession(connection, environment, SessionHarness.Imap(), log));
    }

    public static TheoryData<string> Seeds => FuzzCorpus.SeedNames("imap");

    public void Dispose() => _temp.Dispose();

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task ImapCommandReader_CorpusSeed_OnlyProtocolErrorsWithinLimit(string seed)
    {
        await RunReaderAsync(Corpus.Seed(seed), chunks: null, $"Seed {seed}");
    }

    [Theory]
    [MemberData(nameof(Seeds))]
    public async Task ImapSession_CorpusSeed_AnswersAndEndsWithoutAnInternalError(string seed)
    {
        await _session.RunAsync(Corpus.Seed(seed), $"Seed {seed}");
    }

    [Fact]
    public async Task ImapCommandReader_MutatedCorpus_OnlyProtocolErrorsWithinLimit()
    {
        var random = new Random(FuzzRun.Seed);
        for (var i = 0; i < FuzzRun.Iterations * 5; i++)
        {
            var input = Corpus.Next(random);
            // A quarter of the small inputs arrive in pieces, down to one byte at a time.
            var chunks = input.Length <= 2 * 1024 && random.Next(4) == 0 ? new Random(random.Next()) : null;
            await RunReaderAsync(input, chunks, $"Iteration {i} (seed {FuzzRun.Seed})");
        }
    }

    [Fact]
    public async Task ImapSession_MutatedCorpus_AnswersAndEndsWithoutAnInternalError()
    {
        var random = new Random(FuzzRun.Seed + 1);
        for (var i = 0; i < FuzzRun.Iterations / 2; i++)
        {
            await _session.RunAsync(Corpus.Next(random), $"Iteration {i} (seed {FuzzRun.Seed})");
        }
    }

    /// <summary>Reads commands until the input ends or a limit ends the session, as <see cref="ImapSession"/> does.</summary>
    private static async Task RunReaderAsync(byte[] input, Random? chunks, string context)
    {
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0));
        var reader = new ImapCommandReader(pipe.Reader, _ => ValueTask.CompletedTask);
        var writing = WriteAsync(pipe.Writer, input, chunks);
        try
        {
            // Every command or syntax error consumes at least one line end: more reads than bytes means no progress.
            var reads = 0;
            for (; reads <= input.Length; reads++)
            {
                try
                {
                    if (await reader.ReadCommandAsync(CancellationToken.None).AsTask().Guarded() is not { } command)
                    {
                        break;
                    }
                    Assert.True(command.Arguments.Count + 2 <= ImapCommandReader.MaxTokensPerCommand,
                        $"{context}: a command of {command.Arguments.Count} arguments, over the limit.\nInput: {FuzzRun.Describe(input)}");
                }
                catch (ImapSyntaxException)
                {
                    // Answered with BAD; the session reads on.
                }
            }
            Assert.True(reads <= input.Length, $"{context}: the reader made no progress.\nInput: {FuzzRun.Describe(input)}");
        }
        catch (ProtocolLimitException)
        {
            // Answered with BYE (a limit, or HTTP on the mail port); the session ends.
        }
        catch (Exception e) when (e is not Xunit.Sdk.XunitException)
        {
            Assert.Fail($"{context} threw {e.GetType().Name}: {e.Message}\nInput: {FuzzRun.Describe(input)}");
        }
        await writing.Guarded();
        Assert.True(reader.PeakHeldBytes <= ImapCommandReader.MaxHeldBytes,
            $"{context}: the reader held {reader.PeakHeldBytes} bytes, over its limit of {ImapCommandReader.MaxHeldBytes}.\nInput: {FuzzRun.Describe(input)}");
    }

    private static async Task WriteAsync(PipeWriter writer, byte[] input, Random? chunks)
    {
        if (chunks is null)
        {
            await writer.WriteAsync(input);
        }
        else
        {
            var largest = chunks.Next(3) switch { 0 => 1, 1 => 7, _ => 512 };
            for (var at = 0; at < input.Length;)
            {
                var size = Math.Min(chunks.Next(1, largest + 1), input.Length - at);
                await writer.WriteAsync(input.AsMemory(at, size));
                at += size;
            }
        }
        await writer.CompleteAsync();
    }
}
