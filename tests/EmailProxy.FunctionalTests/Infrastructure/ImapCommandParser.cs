using System.Text;

namespace EmailProxy.FunctionalTests.Infrastructure;

/// <summary>
/// Splits an IMAP command into tokens: <see cref="string"/> (atom or quoted string; an atom keeps any
/// <c>[...]</c> section and <c>&lt;...&gt;</c> partial), <see cref="T:byte[]"/> (literal) and
/// <see cref="List{T}"/> of tokens (parenthesised list). Literals are marked in the text by NUL characters,
/// which cannot occur in IMAP commands, and taken in order from <c>literals</c>.
/// </summary>
internal static class ImapCommandParser
{
    public const char LiteralMarker = '\0';

    public static List<object> Tokenize(string text, Queue<byte[]> literals)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(literals);
        var position = 0;
        var tokens = ParseList(text, ref position, literals, nested: false);
        return tokens;
    }

    /// <summary>A token as a string: atoms and quoted strings as they are, literals decoded as UTF-8.</summary>
    public static string? AsString(object? token) => token switch
    {
        string text => text,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        _ => null,
    };

    private static List<object> ParseList(string text, ref int position, Queue<byte[]> literals, bool nested)
    {
        var tokens = new List<object>();
        while (position < text.Length)
        {
            var c = text[position];
            if (c == ' ')
            {
                position++;
            }
            else if (c == '(')
            {
                position++;
                tokens.Add(ParseList(text, ref position, literals, nested: true));
            }
            else if (c == ')')
            {
                if (!nested)
                {
                    throw new FormatException("Unbalanced ')'.");
                }

                position++;
                return tokens;
            }
            else if (c == '"')
            {
                tokens.Add(ParseQuoted(text, ref position));
            }
            else if (c == LiteralMarker)
            {
                position++;
                tokens.Add(literals.Dequeue());
            }
            else
            {
                tokens.Add(ParseAtom(text, ref position));
            }
        }

        if (nested)
        {
            throw new FormatException("Missing ')'.");
        }

        return tokens;
    }

    private static string ParseQuoted(string text, ref int position)
    {
        var value = new StringBuilder();
        position++;
        while (position < text.Length)
        {
            var c = text[position++];
            if (c == '"')
            {
                return value.ToString();
            }

            if (c == '\\' && position < text.Length)
            {
                c = text[position++];
            }

            value.Append(c);
        }

        throw new FormatException("Unterminated quoted string.");
    }

    private static string ParseAtom(string text, ref int position)
    {
        var start = position;
        var depth = 0;
        while (position < text.Length)
        {
            var c = text[position];
            if (c == '[')
            {
                depth++;
            }
            else if (c == ']')
            {
                depth--;
            }
            else if (depth == 0 && (c == ' ' || c == '(' || c == ')' || c == LiteralMarker))
            {
                break;
            }

            position++;
        }

        return text[start..position];
    }
}
