namespace EmailProxy.Tests.TestSupport;

/// <summary>
/// A guard against a hung test, never an assertion on elapsed time: coordination is done with
/// TaskCompletionSource, and this only turns a deadlock into a failure instead of a stuck run.
/// </summary>
internal static class TestTimeout
{
    public static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    public static Task<T> Guarded<T>(this Task<T> task) => task.WaitAsync(Guard);

    public static Task Guarded(this Task task) => task.WaitAsync(Guard);

    public static Task<T> Guarded<T>(this ValueTask<T> task) => task.AsTask().WaitAsync(Guard);
}
