using System.Reflection;
using StackExchange.Redis;

namespace EmailProxy.Tests.Redis;

/// <summary>
/// An <see cref="IConnectionMultiplexer"/> that connects to nothing and records being closed and disposed; every other member
/// answers its type's default (not connected). Made with <see cref="DispatchProxy"/>: the interface is large, and the tests use
/// only these.
/// </summary>
public class FakeMultiplexer : DispatchProxy
{
    private readonly TaskCompletionSource _disposed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool Closed { get; private set; }

    public bool Disposed => _disposed.Task.IsCompleted;

    public Task DisposedTask => _disposed.Task;

    public static IConnectionMultiplexer Create() => Create<IConnectionMultiplexer, FakeMultiplexer>();

    public static FakeMultiplexer Of(IConnectionMultiplexer multiplexer) => (FakeMultiplexer)(object)multiplexer;

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        switch (targetMethod.Name)
        {
            case nameof(IConnectionMultiplexer.CloseAsync):
                Closed = true;
                return Task.CompletedTask;
            case nameof(IDisposable.Dispose):
                _disposed.TrySetResult();
                return null;
        }
        var type = targetMethod.ReturnType;
        return type == typeof(Task) ? Task.CompletedTask : type.IsValueType && type != typeof(void) ? Activator.CreateInstance(type) : null;
    }
}
