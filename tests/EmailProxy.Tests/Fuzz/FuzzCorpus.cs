using System.Text;

namespace EmailProxy.Tests.Fuzz;

/// <summary>
/// One front's committed seeds (<c>Fuzz/Corpus/{front}/</c>, copied to the output folder) and the
/// inputs made from them: pure noise, a seed mutated a few times (bytes dropped, changed or
/// inserted, protocol fragments, long runs, a slice repeated into a flood), or two seeds spliced.
/// </summary>
internal sealed class FuzzCorpus
{
    /// <summary>Inputs are cut here so that one iteration stays cheap; every limit is far below it.</summary>
    public const int MaxInputLength = 256 * 1024;

    private static readonly string[] Fragments =
    [
        "\r\n", "\n", "\r", "{", "}", "{0+}\r\n", "{99999999999999999999}", "{4294967296}", "{18446744073709551615+}",
        "{9223372036854775808}", "{65537}", "{3+}", "{5}\r\n", "\"", "\\", "(", ")", " ", "*", "=", "\0", "\u00ff",
        "\u202e", "AUTH PLAIN ", "AUTH LOGIN\r\n", "a1 ", "LOGIN ", "USER ", "PASS ", "MAIL FROM:<a@b>\r\n", "DATA\r\n",
        ".\r\n", "POST / HTTP/1.1\r\n", "Host: 127.0.0.1\r\n", "\x16\x03\x01",
    ];

    private readonly (string Name, byte[] Bytes)[] _seeds;

    private FuzzCorpus((string Name, byte[] Bytes)[] seeds) => _seeds = seeds;

    public IReadOnlyList<string> Names => [.. _seeds.Select(s => s.Name)];

    public static FuzzCorpus Load(string front)
    {
        var folder = Folder(front);
        var files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToArray();
        if (files.Length == 0)
        {
            throw new InvalidOperationException($"No fuzz seeds in {folder}.");
        }
        return new FuzzCorpus([.. files.Select(f => (Path.GetFileName(f), File.ReadAllBytes(f)))]);
    }

    /// <summary>The seed names of a front, for a theory that replays each one as it is.</summary>
    public static TheoryData<string> SeedNames(string front) => [.. Load(front).Names];

    public byte[] Seed(string name) => _seeds.Single(s => s.Name == name).Bytes;

    /// <summary>The next input: a quarter pure noise, a quarter two seeds spliced, half a mutated seed.</summary>
    public byte[] Next(Random random)
    {
        switch (random.Next(4))
        {
            case 0:
                return Noise(random);
            case 1:
                var first = _seeds[random.Next(_seeds.Length)].Bytes;
                var second = _seeds[random.Next(_seeds.Length)].Bytes;
                var cut = random.Next(first.Length + 1);
                var from = random.Next(second.Length + 1);
                return Cap([.. first.AsSpan(0, cut), .. second.AsSpan(from)]);
            default:
                return Mutate(random, _seeds[random.Next(_seeds.Length)].Bytes);
        }
    }

    private static string Folder(string front) => Path.Combine(AppContext.BaseDirectory, "Fuzz", "Corpus", front);

    private static byte[] Noise(Random random)
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

    private static byte[] Mutate(Random random, byte[] seed)
    {
        var bytes = new List<byte>(seed);
        for (var m = random.Next(1, 6); m > 0; m--)
        {
            var at = random.Next(bytes.Count + 1);
            switch (random.Next(7))
            {
                case 0 when bytes.Count > 0:
                    var index = random.Next(bytes.Count);
                    bytes.RemoveRange(index, Math.Min(random.Next(1, 16), bytes.Count - index));
                    break;
                case 1:
                    bytes.InsertRange(at, Encoding.UTF8.GetBytes(Fragments[random.Next(Fragments.Length)]));
                    break;
                case 2 when bytes.Count > 0:
                    bytes[Math.Min(at, bytes.Count - 1)] = (byte)random.Next(256);
                    break;
                case 3:
                    bytes.InsertRange(at, Enumerable.Repeat((byte)"x(\" A"[random.Next(5)], random.Next(1, 10_000)));
                    break;
                case 4:
                    // A flood: one slice of the input, repeated.
                    var start = random.Next(bytes.Count + 1);
                    var slice = bytes.GetRange(start, Math.Min(random.Next(1, 40), bytes.Count - start));
                    bytes.InsertRange(at, Enumerable.Repeat(slice, random.Next(1, 500)).SelectMany(s => s));
                    break;
                case 5 when bytes.Count > 0:
                    // Cut short: the client goes away in the middle.
                    var keep = random.Next(bytes.Count);
                    bytes.RemoveRange(keep, bytes.Count - keep);
                    break;
                default:
                    var copyStart = random.Next(bytes.Count + 1);
                    bytes.InsertRange(at, bytes.GetRange(copyStart, random.Next(0, bytes.Count - copyStart + 1)));
                    break;
            }
            if (bytes.Count > MaxInputLength)
            {
                break;
            }
        }
        return Cap([.. bytes]);
    }

    private static byte[] Cap(byte[] input) => input.Length > MaxInputLength ? input[..MaxInputLength] : input;
}
