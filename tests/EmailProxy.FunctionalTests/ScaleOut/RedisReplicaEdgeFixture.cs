using EmailProxy.FunctionalTests.Infrastructure;
using Xunit;

namespace EmailProxy.FunctionalTests.ScaleOut;

/// <summary>
/// Three replicas on one Redis shared by <see cref="RedisReplicaEdgeTests"/>, each test with an account of its own: one
/// signed in by <c>emailproxy auth</c> run where no proxy runs, a device-code template whose generated password is shown
/// by another replica, and one whose OAuth settings a reload of one replica changes. Logins wait up to a minute for the
/// sign-in they start (<c>wait_for_authorization</c>), so that a test sees a waiting login hear the end.
/// </summary>
public sealed class RedisReplicaEdgeFixture : IAsyncLifetime, IAsyncDisposable
{
    public const string OfflineAccount = "offline@example.com";
    public const string ReloadedAccount = "reloaded@example.com";
    public const string TemplateDomain = "tmpl.example.org";

    /// <summary>The scope every replica starts with; the reload test adds one for <see cref="ReloadedAccount"/>.</summary>
    public const string Scope = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access";

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
        _set = await ReplicaSet.StartAsync(_environment, _redis, append: string.Concat(
                AccountSection(_environment, OfflineAccount),
                AccountSection(_environment, ReloadedAccount),
                AccountSection(_environment, "*@" + TemplateDomain, "flow = device_code\n")),
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

    /// <summary>An account's section as every replica has it (<paramref name="scope"/>: another scope, for a reload).</summary>
    internal static string AccountSection(TestEnvironment environment, string name, string extra = "", string scope = Scope) => $"""

        [account {name}]
        client_id = {environment.Identity.ClientId}
        tenant = {environment.Identity.Tenant}
        authority = {environment.Identity.Authority}
        server = {TestEnvironment.ServerName}
        scope = {scope}
        {extra}
        """;
}
