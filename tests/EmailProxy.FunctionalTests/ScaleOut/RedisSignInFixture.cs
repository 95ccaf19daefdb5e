using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>
/// One <see cref="ReplicaSet"/> (three replicas on one Redis behind HAProxy) shared by the sign-in tests, each test with an
/// account of its own: a login waits up to a minute for the sign-in it starts (<c>wait_for_authorization</c>), so that a
/// test sees the waiting login complete when the sign-in ends on another replica.
/// </summary>
public sealed class RedisSignInFixture : IAsyncLifetime, IAsyncDisposable
{
    public const string WaitingAccount = "waiting@example.com";
    public const string ReplayedAccount = "replayed@example.com";
    public const string DeviceAccount = "device@example.com";

    private TestEnvironment? _environment;
    private RedisServer? _redis;
    private ReplicaSet? _set;

    internal ReplicaSet Set => _set ?? throw new InvalidOperationException("The fixture is not started.");

    internal TestEnvironment Environment => Set.Environment;

    public async Task InitializeAsync()
    {
        _environment = await TestEnvironment.CreateAsync();
        _environment.Identity.DeviceCodeInterval = TimeSpan.FromSeconds(1);
        _redis = new RedisServer();
        var accounts = string.Concat(
            AccountSection(_environment, WaitingAccount),
            AccountSection(_environment, ReplayedAccount),
            AccountSection(_environment, DeviceAccount, "flow = device_code\n"));
        _set = await ReplicaSet.StartAsync(_environment, _redis, append: accounts,
            transform: text => text.Replace(TestEnvironment.LocalTlsOff, TestEnvironment.LocalTlsOff + "\nwait_for_authorization = 60", StringComparison.Ordinal));
    }

    public async Task DisposeAsync()
    {
        if (_set is not null)
        {
            await _set.DisposeAsync();
        }
        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }
        if (_environment is not null)
        {
            await _environment.DisposeAsync();
        }
    }

    ValueTask IAsyncDisposable.DisposeAsync() => new(DisposeAsync());

    private static string AccountSection(TestEnvironment environment, string name, string extra = "") => $"""

        [account {name}]
        client_id = {environment.Identity.ClientId}
        tenant = {environment.Identity.Tenant}
        authority = {environment.Identity.Authority}
        server = {TestEnvironment.ServerName}
        scope = https://outlook.office.com/IMAP.AccessAsUser.All offline_access
        {extra}
        """;
}
