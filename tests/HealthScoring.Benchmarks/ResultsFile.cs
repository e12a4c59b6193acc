using System.Text.Json;

namespace HealthScoring.Benchmarks;

/// <summary>
/// The results file: a JSON array of <see cref="BenchmarkResult"/>. A full run replaces it; a run restricted
/// with <c>--only</c> replaces only the entries it produced (by name) and keeps the rest.
/// </summary>
public static class ResultsFile
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Writes <paramref name="results"/> to <paramref name="path"/>, merging with what is there when <paramref name="merge"/>.</summary>
    public static async Task WriteAsync(string path, IReadOnlyList<BenchmarkResult> results, bool merge, CancellationToken cancellationToken)
    {
        var all = new List<BenchmarkResult>();
        if (merge && File.Exists(path))
        {
            List<BenchmarkResult>? existing;
            await using (var read = File.OpenRead(path))
            {
                try
                {
                    existing = await JsonSerializer.DeserializeAsync<List<BenchmarkResult>>(read, Json, cancellationToken);
                }
                catch (JsonException ex)
                {
                    throw new InvalidOperationException($"Cannot merge into {path}: it is not a results file ({ex.Message}). Delete it or choose another --out.", ex);
                }
            }

            var replaced = results.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
            all.AddRange((existing ?? []).Where(r => !replaced.Contains(r.Name)));
        }

        all.AddRange(results);
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);

        // Write beside and rename, so that an interrupted run never leaves half a file.
        var temp = path + ".tmp";
        await using (var write = File.Create(temp))
        {
            await JsonSerializer.SerializeAsync(write, all, Json, cancellationToken);
        }

        File.Move(temp, path, overwrite: true);
    }
}
