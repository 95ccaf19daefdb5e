namespace EmailProxy.FunctionalTests.Clients;

/// <summary>The ports of one proxy: its three mail listeners and its HTTP listener.</summary>
internal sealed record ListenerPorts(int Imap, int Smtp, int Pop, int Http);
