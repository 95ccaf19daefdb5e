using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Hosting;

/// <summary>
/// SIGHUP for the whole of <c>emailproxy run</c>, the one owner of its registration: taken first thing,
/// before the configuration is read, the master key derived and the host built, so that SIGHUP never ends
/// the process (its default action, which systemd counts as a clean exit: <c>Restart=on-failure</c> would
/// leave the unit down after an early <c>systemctl reload</c>). One that comes before the reloader runs is
/// remembered and handed to it once, when it attaches (<see cref="Attach"/>); one after it detached is
/// ignored (logged at Debug). Disposed when the run ends.
/// </summary>
internal sealed partial class HangupSignal : IDisposable
{
    private readonly Lock _gate = new();
    private readonly PosixSignalRegistration? _registration;
    private Action<bool>? _handler;
    private ILogger? _log;
    private bool _missed;

    public HangupSignal()
    {
        if (!OperatingSystem.IsWindows())
        {
            _registration = PosixSignalRegistration.Create(PosixSignal.SIGHUP, signal =>
            {
                signal.Cancel = true;
                Raise();
            });
        }
    }

    /// <summary>
    /// From now on each SIGHUP calls <paramref name="onHangup"/> (with false); one that came before is
    /// handed to it at once (with true), however many came.
    /// </summary>
    public void Attach(Action<bool> onHangup, ILogger log)
    {
        bool missed;
        lock (_gate)
        {
            _handler = onHangup;
            _log = log;
            missed = _missed;
            _missed = false;
        }
        if (missed)
        {
            onHangup(true);
        }
    }

    /// <summary>From now on SIGHUP is ignored (the proxy stops).</summary>
    public void Detach()
    {
        lock (_gate)
        {
            _handler = null;
        }
    }

    /// <summary>What a SIGHUP does (internal for tests: the signal's own callback calls it).</summary>
    internal void Raise()
    {
        Action<bool>? handler;
        ILogger? log;
        lock (_gate)
        {
            handler = _handler;
            log = _log;
            if (handler is null && log is null)
            {
                // Not attached yet: the proxy is starting.
                _missed = true;
            }
        }
        if (handler is not null)
        {
            handler(false);
        }
        else if (log is not null)
        {
            LogIgnored(log);
        }
    }

    public void Dispose() => _registration?.Dispose();

    [LoggerMessage(EventId = 17, EventName = "HangupIgnored", Level = LogLevel.Debug,
        Message = "SIGHUP ignored: the proxy is stopping")]
    private static partial void LogIgnored(ILogger logger);
}
