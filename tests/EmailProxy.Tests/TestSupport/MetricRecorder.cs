using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace EmailProxy.Tests.TestSupport;

/// <summary>
/// A <see cref="MeterListener"/> on one meter's instruments (another test's meter is never seen): records
/// every measurement with its tags; <see cref="CollectObservables"/> reads the observable gauges now.
/// </summary>
internal sealed class MetricRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<RecordedMeasurement> _measurements = new();

    public MetricRecorder(Meter meter)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == meter)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<int>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) => Record(instrument, value, tags));
        _listener.Start();
    }

    public IReadOnlyList<RecordedMeasurement> Measurements => [.. _measurements];

    /// <summary>The measurements of one instrument, in order.</summary>
    public IReadOnlyList<RecordedMeasurement> Of(string instrument) => [.. _measurements.Where(m => m.Instrument == instrument)];

    /// <summary>The sum of one instrument's measurements with exactly these tags.</summary>
    public double Sum(string instrument, params (string Key, string Value)[] tags) =>
        _measurements.Where(m => m.Instrument == instrument && m.HasTags(tags)).Sum(m => m.Value);

    /// <summary>Reads every observable instrument now (as an exporter's collection does).</summary>
    public void CollectObservables() => _listener.RecordObservableInstruments();

    /// <summary>Forgets what was recorded so far.</summary>
    public void Clear() => _measurements.Clear();

    public void Dispose() => _listener.Dispose();

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value?.ToString();
        }
        _measurements.Enqueue(new RecordedMeasurement(instrument.Name, value, copy));
    }
}
