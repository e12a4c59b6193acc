namespace HealthScoring.Testing;

/// <summary>Where the repository is, for the results file and the API's build output.</summary>
public static class RepoPaths
{
    /// <summary>The directory holding HealthScoring.sln, searched upwards from the build output, else from the current directory.</summary>
    public static string Root()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "HealthScoring.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        return Environment.CurrentDirectory;
    }
}
