namespace EmailProxy.Tests.TestSupport;

/// <summary>Finds the repository's root (the folder holding EmailProxy.slnx) from the test's output folder.</summary>
internal static class RepositoryRoot
{
    public static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "EmailProxy.slnx")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("EmailProxy.slnx not found above " + AppContext.BaseDirectory);
    }
}
