namespace EmailProxy.Redis;

/// <summary>
/// What a replica publishes on <see cref="RedisSignInStore.Channel"/> when a shared sign-in ended there: who it is
/// (<see cref="Instance"/>, so that it passes over its own message), the account, the sign-in's <see cref="RedisSignInRecord.Id"/>
/// and the outcome's one line for people (no secret: the same text the browser page or the log shows).
/// </summary>
internal sealed record RedisSignInMessage(string Instance, string Account, string Id, bool Succeeded, string Message);
