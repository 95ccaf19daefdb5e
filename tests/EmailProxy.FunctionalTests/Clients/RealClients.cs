using Xunit;

namespace EmailProxy.FunctionalTests.Clients;

/// <summary>
/// The real-client tests share one <see cref="ClientSuiteFixture"/> and run one after another: the clients contend
/// for the same mailbox (POP3 clients empty its INBOX) and two cores.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RealClients : ICollectionFixture<ClientSuiteFixture>
{
    public const string Name = "Real clients";
}
