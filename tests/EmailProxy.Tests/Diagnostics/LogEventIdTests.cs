using System.Reflection;
using Microsoft.Extensions.Logging;

namespace EmailProxy.Tests.Diagnostics;

/// <summary>Every log line the proxy writes has an event id of its own: an operator's filter or alert on one id never catches another line.</summary>
public sealed class LogEventIdTests
{
    [Fact]
    public void LoggerMessages_AcrossTheProxy_EachEventIdUsedOnce()
    {
        var messages = typeof(EmailProxy.Configuration.ProxyConfig).Assembly.GetTypes()
            .SelectMany(type => type.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.DeclaredOnly))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(found => found.Attribute is not null)
            .ToList();

        var reused = messages
            .GroupBy(found => found.Attribute!.EventId)
            .Where(group => group.Count() > 1)
            .Select(group => $"{group.Key}: {string.Join(", ", group.Select(found => $"{found.Method.DeclaringType!.Name}.{found.Method.Name}"))}")
            .ToList();

        Assert.NotEmpty(messages);
        Assert.True(reused.Count == 0, "event ids used more than once:\n" + string.Join("\n", reused));
    }
}
