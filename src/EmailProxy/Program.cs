using EmailProxy.Cli;

return await ProxyCommandLine.InvokeAsync(args);
