namespace EmailProxy.Cli;

/// <summary>A running proxy refused or failed a control request: the message is the one line the command prints.</summary>
internal sealed class ControlException(string message) : Exception(message);
