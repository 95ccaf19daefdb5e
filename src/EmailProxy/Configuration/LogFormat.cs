namespace EmailProxy.Configuration;

/// <summary>The <c>log_format</c> values.</summary>
internal enum LogFormat
{
    /// <summary><c>text</c>: one line per entry.</summary>
    Text,

    /// <summary><c>json</c>: one JSON object per line.</summary>
    Json,
}
