namespace EmailProxy.Tests.TestSupport;

/// <summary>One measurement a <see cref="MetricRecorder"/> saw: the instrument's name, the value, and its tags as text.</summary>
internal sealed record RecordedMeasurement(string Instrument, double Value, IReadOnlyDictionary<string, string?> Tags)
{
    /// <summary>Whether the measurement carries exactly these tags (no more, no fewer).</summary>
    public bool HasTags(params (string Key, string Value)[] tags) =>
        Tags.Count == tags.Length && tags.All(t => Tags.TryGetValue(t.Key, out var value) && value == t.Value);
}
