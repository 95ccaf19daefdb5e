using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using EmailProxy.Connections;
using EmailProxy.Imap;
using EmailProxy.Pop3;
using EmailProxy.Smtp;
using EmailProxy.Tests.TestSupport;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Fuzz;

/// <summary>
/// Random and mutated client transcripts against every pre-login parser and the real sessions:
/// each must answer and end when the input ends — no crash, no hang, no error-level log. The run
/// is bounded and reproducible: set EMAILPROXY_FUZZ_SEED to replay a seed a failure printed, and
/// EMAILPROXY_FUZZ_ITERATIONS for a longer run.
/// </summary>
public sealed class PreLoginFuzzTests : IDisposable
{
    private static readonly string[] ImapSeeds =
    [
        "a1 LOGIN user@example.com secret\r\n",
        "a1 LOGIN \"us\\\\er\" \"p\\\"w\"\r\n",
        "a1 LOGIN {4}\r\nuser {6}\r\nsecret\r\n",
        "a1 LOGIN {4+}\r\nuser {6+}\r\nsecret\r\n",
        "a1 AUTHENTICATE PLAIN AHVzZXIAc2VjcmV0\r\n",
        "a1 AUTHENTICATE PLAIN\r\nAHVzZXIAc2VjcmV0\r\n",
        "a1 AUTHENTICATE LOGIN\r\ndXNlcg==\r\nc2VjcmV0\r\n",
        "a1 AUTHENTICATE PLAIN\r\n*\r\n",
        "a1 ID (\"name\" \"x\" \"version\" \"1\")\r\na2 CAPABILITY\r\na3 NOOP\r\n",
        "a1 STARTTLS\r\na2 SELECT INBOX\r\na3 LOGOUT\r\n",
    ];

    private static readonly string[] SmtpSeeds =
    [
        "EHLO client\r\nAUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0\r\nQUIT\r\n",
        "EHLO client\r\nAUTH PLAIN AHVzZXIAc2VjcmV0\r\nMAIL FROM:<a@b>\r\n",
        "HELO x\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN =\r\nAHVzZXIAc2VjcmV0\r\n",
        "MAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\n.\r\nRSET\r\nNOOP\r\n",
        "EHLO x\r\nSTARTTLS\r\nAUTH CRAM-MD5\r\nVRFY x\r\n",
    ];

    private static readonly string[] PopSeeds =
    [
        "CAPA\r\nUSER user\r\nPASS se cret\r\nQUIT\r\n",
        "AUTH\r\nAUTH PLAIN AHVzZXIAc2VjcmV0\r\nAUTH LOGIN\r\ndXNlcg==\r\nc2VjcmV0\r\n",
        "PASS x\r\nSTAT\r\nUSER\r\nAUTH PLAIN\r\n*\r\nSTLS\r\nNOOP\r\n",
    ];

    private static readonly string[] Fragments = ["\r\n", "\n", "\r", "{", "}", "{99999999999999999999}", "{9223372036854775808}", "{65537}", "{3+}", "\"", "\\", "(", ")", " ", "*", "=", "\0", "\u00ff", "AUTH PLAIN ", "a1 ", "LOGIN "];

    private readonly TempDirectory _temp = new();
    private readonly int _seed = int.TryParse(Environment.GetEnvironmentVariable("EMAILPROXY_FUZZ_SEED"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var seed) ? seed : 20261124;
    private readonly int _iterations = int.TryParse(Environment.GetEnvironmentVariable("EMAILPROXY_FUZZ_ITERATIONS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : 400;

    [Fact]
    public async Task ImapCommandReader_RandomAndMutatedInput_OnlyProtocolErrorsAndTerminates()
    {
        var random = new Random(_seed);
        for (var i = 0; i < _iterations * 5; i++)
        {
            var input = Generate(random, ImapSeeds);
            var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0));
            await pipe.Writer.WriteAsync(input);
            await pipe.Writer.CompleteAsync();
            var reader = new ImapCommandReader(pipe.Reader, _ => ValueTask.CompletedTask);
            try
            {
                for (var commands = 0; commands < 10_000; commands++)
                {
                    try
                    {
                        if (await reader.ReadCommandAsync(CancellationToken.None).AsTask().Guarded() is null)
                        {
                            break;
                        }
                    }
                    catch (ImapSyntaxException)
                    {
                        // Answered with BAD; the session reads on.
                    }
                }
            }
            catch (ProtocolLimitException)
            {
                // Answered with BYE; the session ends.
            }
            catch (Exception e)
            {
                Assert.Fail($"Iteration {i} (seed {_seed}) threw {e.GetType().Name}: {e.Message}\nInput: {Describe(input)}");
            }
        }
    }

    [Fact]
    public async Task Sessions_RandomAndMutatedTranscripts_AnswerAndEndWithoutAnInternalError()
    {
        var random = new Random(_seed + 1);
        var harness = new SessionHarness(_temp.Path, TimeProvider.System);
        var environment = harness.Environment();
        for (var i = 0; i < _iterations; i++)
        {
            var protocol = i % 3;
            var input = Generate(random, protocol switch { 0 => ImapSeeds, 1 => SmtpSeeds, _ => PopSeeds });
            var log = new RecordingLoggerProvider(LogLevel.Error);
            var (connection, client) = SessionHarness.Connect();
            MailSession session = protocol switch
            {
                0 => new ImapSession(connection, environment, SessionHarness.Imap(), log.CreateLogger("fuzz")),
                1 => new SmtpSession(connection, environment, SessionHarness.Smtp(), log.CreateLogger("fuzz")),
                _ => new Pop3Session(connection, environment, SessionHarness.Pop3(), log.CreateLogger("fuzz")),
            };
            await client.Output.WriteAsync(input);
            await client.Output.CompleteAsync();
            await session.RunAsync().Guarded();

            // Something was answered (at least the greeting), and nothing ended as an internal error.
            var answered = await client.Input.ReadAsync().AsTask().Guarded();
            Assert.False(answered.Buffer.IsEmpty, $"Iteration {i} (seed {_seed}): no answer at all.\nInput: {Describe(input)}");
            client.Input.AdvanceTo(answered.Buffer.End);
            Assert.True(log.Lines.Count == 0, $"Iteration {i} (seed {_seed}): {string.Join("\n", log.Lines)}\nInput: {Describe(input)}");
        }
    }

    public void Dispose() => _temp.Dispose();

    /// <summary>Half the time pure noise, half the time a valid transcript with a few mutations.</summary>
    private static byte[] Generate(Random random, string[] seeds)
    {
        if (random.Next(2) == 0)
        {
            var noise = new byte[random.Next(0, 3000)];
            random.NextBytes(noise);
            // Sprinkle line ends so that the parsers see many short lines, not one long one.
            for (var j = 0; j < noise.Length; j += random.Next(1, 200))
            {
                noise[j] = (byte)'\n';
            }
            return noise;
        }
        var bytes = new List<byte>(Encoding.UTF8.GetBytes(seeds[random.Next(seeds.Length)]));
        for (var m = random.Next(1, 6); m > 0; m--)
        {
            var at = random.Next(bytes.Count + 1);
            switch (random.Next(5))
            {
                case 0 when bytes.Count > 0:
                    bytes.RemoveAt(Math.Min(at, bytes.Count - 1));
                    break;
                case 1:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(Fragments[random.Next(Fragments.Length)]));
                    break;
                case 2 when bytes.Count > 0:
                    bytes[Math.Min(at, bytes.Count - 1)] = (byte)random.Next(256);
                    break;
                case 3:
                    bytes.InsertRange(at, Enumerable.Repeat((byte)'x', random.Next(1, 10_000)));
                    break;
                default:
                    var start = random.Next(bytes.Count + 1);
                    var length = random.Next(0, bytes.Count - start + 1);
                    bytes.InsertRange(at, bytes.GetRange(start, length));
                    break;
            }
        }
        return [.. bytes];
    }

    private static string Describe(byte[] input) =>
        input.Length > 300 ? Convert.ToBase64String(input, 0, 300) + "…" : Convert.ToBase64String(input);
}
