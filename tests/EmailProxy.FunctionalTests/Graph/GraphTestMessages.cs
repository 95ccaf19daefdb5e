using System.Text;

namespace EmailProxy.FunctionalTests.Graph;

/// <summary>Messages for the Graph tests: 8-bit text with dot lines and a reproducible binary attachment, base64 in 76-character lines; no CRLF after the last line.</summary>
internal static class GraphTestMessages
{
    public static byte[] WithAttachment(int attachmentSize, string to, string subject = "Graph attachment", int seed = 19)
    {
        var attachment = new byte[attachmentSize];
        new Random(seed).NextBytes(attachment);
        var text = new StringBuilder();
        text.Append($"From: Sales <user@example.com>\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: <{Guid.NewGuid():N}@example.com>\r\n");
        text.Append("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"graph-b1\"\r\n\r\n");
        text.Append("--graph-b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n");
        text.Append("Grüße, ½ € — 8-bit text.\r\n.this line starts with a dot\r\n..and this one with two\r\n\r\n");
        text.Append("--graph-b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"data.bin\"\r\n\r\n");
        var base64 = Convert.ToBase64String(attachment);
        for (var i = 0; i < base64.Length; i += 76)
        {
            text.Append(base64.AsSpan(i, Math.Min(76, base64.Length - i))).Append("\r\n");
        }
        // No CRLF after the last line: clients end DATA with CRLF . CRLF, whose CRLF ends it.
        text.Append("--graph-b1--");
        return Encoding.UTF8.GetBytes(text.ToString());
    }
}
