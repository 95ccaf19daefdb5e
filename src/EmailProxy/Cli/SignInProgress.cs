namespace EmailProxy.Cli;

/// <summary>
/// The line a person watches while a sign-in is under way: "waiting for the sign-in… 4:32 left",
/// rewritten in place every second when it goes to a terminal (<paramref name="live"/>), else written
/// as a new line at most every <see cref="LineInterval"/> (a log, a pipe, <c>docker exec</c> without a tty).
/// </summary>
internal sealed class SignInProgress(TextWriter output, bool live, TimeProvider time)
{
    public static readonly TimeSpan LineInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);

    private int _width;

    /// <summary>Shows the time left until <paramref name="expiresAt"/> until <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task RunAsync(DateTimeOffset expiresAt, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(Tick, time);
        DateTimeOffset? lastLine = null;
        try
        {
            do
            {
                var now = time.GetUtcNow();
                var text = Text(expiresAt - now);
                if (live)
                {
                    await output.WriteAsync("\r" + text.PadRight(_width));
                    _width = text.Length;
                    await output.FlushAsync(cancellationToken);
                }
                else if (lastLine is null || now - lastLine >= LineInterval)
                {
                    await output.WriteLineAsync(text);
                    lastLine = now;
                }
            }
            while (await timer.WaitForNextTickAsync(cancellationToken));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The sign-in ended: the caller says how.
        }
        if (live && _width > 0)
        {
            await output.WriteAsync("\r" + new string(' ', _width) + "\r");
        }
    }

    /// <summary>"waiting for the sign-in… 4:32 left" (never below 0:00).</summary>
    public static string Text(TimeSpan left)
    {
        var seconds = Math.Max(0, (int)Math.Ceiling(left.TotalSeconds));
        return $"waiting for the sign-in… {seconds / 60}:{seconds % 60:00} left";
    }
}
