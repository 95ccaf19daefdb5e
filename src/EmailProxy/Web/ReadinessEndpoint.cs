using System.Text;
using EmailProxy.Configuration;
using EmailProxy.Hosting;
using EmailProxy.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace EmailProxy.Web;

/// <summary>
/// <c>/readyz</c>, for a container's health check or an orchestrator's readiness probe: 200 "ready" when
/// every configured mail listener is bound (the HTTP listener is, since it answers), the token folder
/// takes a new file, and the configuration file on disk still reads without errors; else 503 with one
/// line per thing that is not. A shared token store (Redis) that cannot be reached is named too, but the
/// answer stays 200 ("ready, degraded"): it fails every replica alike, so taking this one out of the
/// balancer would help nothing, and taking them all out (or restarting them) would end the logins whose
/// access token is in memory, which still work. Like <c>/healthz</c> it answers without <c>admin_password</c> and for any
/// Host (a probe reaches the proxy by whatever address it has): so it names addresses, a folder and a
/// configuration problem's section and key, but never a value from the file nor anything secret.
/// </summary>
/// <param name="listeners">The mail listeners; none in hosts without them (the HTTP side's tests).</param>
/// <param name="redis">The shared token store's connection (<c>token_store = redis</c>); null with the file store.</param>
internal sealed class ReadinessEndpoint(ProxyConfig config, MailListeners? listeners = null, Redis.RedisConnection? redis = null)
{
    public const string Path = "/readyz";

    /// <summary>How many of the file's problems the answer names; the rest is counted.</summary>
    public const int ProblemsShown = 3;

    private readonly Lock _gate = new();
    private (DateTime WrittenAt, long Length, IReadOnlyList<ConfigProblem> Errors)? _lastRead;

    public static void Map(WebApplication app) =>
        app.MapGet(Path, (HttpContext context, ReadinessEndpoint readiness) =>
        {
            context.Response.Headers.CacheControl = "no-store";
            var problems = readiness.Problems();
            var degraded = readiness.Degradations();
            if (problems.Count == 0 && degraded.Count == 0)
            {
                return Results.Text("ready\n");
            }
            var text = new StringBuilder(problems.Count == 0 ? "ready, degraded:\n" : "not ready:\n")
                .AppendJoin("", problems.Concat(degraded).Select(p => $"- {p}\n")).ToString();
            return Results.Text(text, "text/plain; charset=utf-8",
                statusCode: problems.Count == 0 ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable);
        });

    /// <summary>
    /// What works only in part, one sentence each, without making the proxy unready (the answer stays 200): a shared
    /// token store that cannot be reached. Empty when nothing is degraded.
    /// </summary>
    public IReadOnlyList<string> Degradations() =>
        redis is { IsConnected: false }
            ? [$"the token store, Redis at {redis.Description}, cannot be reached: only logins whose access token is in memory work, others get a temporary failure (the proxy reconnects by itself)"]
            : [];

    /// <summary>What is not ready, one sentence each; empty when all is.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        foreach (var listener in listeners?.Listeners ?? [])
        {
            if (listener.Problem is { } reason)
            {
                problems.Add($"the {listener.Protocol} listener on {listener.EndPoint} is not bound: {reason} (tried again every {MailListeners.RetryInterval.TotalSeconds} s)");
            }
        }
        if (TokenFolderProblem(config.TokenDirectory) is { } folder)
        {
            problems.Add(folder);
        }
        if (ConfigFileProblem() is { } file)
        {
            problems.Add(file);
        }
        return problems;
    }

    /// <summary>
    /// Creates and removes a file in the token folder, as a token write would (a new file, 0600), named like
    /// the store's temporary files so that a leftover is cleared at the next start. The store makes the
    /// folder at its first write: while it does not exist, the probe goes to the folder it would be made in.
    /// </summary>
    internal static string? TokenFolderProblem(string tokenDirectory)
    {
        var folder = System.IO.Path.GetFullPath(tokenDirectory);
        while (!Directory.Exists(folder))
        {
            if (File.Exists(folder))
            {
                return $"the token folder {tokenDirectory} cannot be made or written, so no sign-in or refresh can be saved: {folder} is a file, not a folder";
            }
            if (System.IO.Path.GetDirectoryName(folder) is not { } parent)
            {
                return $"the token folder {tokenDirectory} cannot be made, so no sign-in or refresh can be saved: no folder above it exists";
            }
            folder = parent;
        }
        var probe = System.IO.Path.Combine(folder, $"readyz.{Guid.NewGuid():N}{PrivateFile.TemporarySuffix}");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.DeleteOnClose };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = PrivateFile.OwnerReadWrite;
        }
        try
        {
            using (new FileStream(probe, options))
            {
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            var where = folder == System.IO.Path.GetFullPath(tokenDirectory) ? "does not take new files" : $"does not exist and cannot be made in {folder}";
            return $"the token folder {tokenDirectory} {where}, so no sign-in or refresh can be saved: {e.Message}";
        }
    }

    /// <summary>
    /// Reads the configuration file again, as a restart would: the running configuration was valid when
    /// the proxy started, but an edit since may not be, and this is where the operator learns it before
    /// the restart fails. Read again only when the file's time or size changed, so a probe every few
    /// seconds costs a stat. Problems are named by section, key and message, without the value.
    /// </summary>
    private string? ConfigFileProblem()
    {
        var path = config.ConfigPath;
        var file = new FileInfo(path);
        var stamp = file.Exists ? (file.LastWriteTimeUtc, file.Length) : (DateTime.MinValue, -1L);
        IReadOnlyList<ConfigProblem> errors;
        lock (_gate)
        {
            if (_lastRead is { } last && last.WrittenAt == stamp.Item1 && last.Length == stamp.Item2)
            {
                errors = last.Errors;
            }
            else
            {
                errors = ConfigReader.ReadFile(path).Errors;
                _lastRead = (stamp.Item1, stamp.Item2, errors);
            }
        }
        if (errors.Count == 0)
        {
            return null;
        }
        var shown = errors.Take(ProblemsShown).Select(e => $"[{e.Section}]{(e.Key is null ? "" : $" {e.Key}")}: {e.Message}");
        var more = errors.Count > ProblemsShown ? $" (and {errors.Count - ProblemsShown} more; emailproxy check lists them all)" : "";
        return $"the configuration file {System.IO.Path.GetFullPath(path)} has errors, so the proxy would not start with it (it runs on the last one it read without errors): {string.Join("; ", shown)}{more}";
    }
}
