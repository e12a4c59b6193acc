using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using HealthScoring.Api.Grpc;

namespace HealthScoring.Api.Tests.Grpc;

/// <summary>Runs interop_client.py with Debian's /usr/bin/python3 (a pyenv python3 on PATH lacks grpcio) and parses its JSON.</summary>
internal static class InteropClient
{
    private const string Python = "/usr/bin/python3";
    private const int MissingDependencies = 3;

    public static Task<InteropResult> RunAsync(int port, string scenario, string? argument = null) =>
        RunScriptAsync(Path.Combine("tests", "HealthScoring.Api.Tests", "Grpc", "interop_client.py"),
            argument is null ? [port.ToString(CultureInfo.InvariantCulture), scenario] : [port.ToString(CultureInfo.InvariantCulture), scenario, argument]);

    /// <summary>Runs a python client script of the repository (path relative to its root) with Debian's python; parses the JSON it prints.</summary>
    public static async Task<InteropResult> RunScriptAsync(string script, IReadOnlyList<string> arguments)
    {
        var scenario = string.Join(' ', arguments);
        var start = new ProcessStartInfo(Python)
        {
            ArgumentList = { Path.Combine(RepoRoot(), script) },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Debian's python must see only its own packages.
        start.Environment.Remove("PYTHONPATH");
        start.Environment.Remove("PYTHONHOME");

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{Python} did not start.");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException($"{Python} is missing ({ex.Message}): run `bash scripts/test-deps.sh`.", ex);
        }

        using (process)
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(60));
            var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
            var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }

            var output = await stdout;
            var errors = await stderr;
            if (process.ExitCode == MissingDependencies)
            {
                Assert.Fail($"The gRPC interop tests need python3-grpcio, python3-protobuf and protobuf-compiler: run `bash scripts/test-deps.sh`. {errors}");
            }

            process.ExitCode.ShouldBe(0, $"{Path.GetFileName(script)} {scenario} failed:\n{errors}\n{output}");
            return new InteropResult(JsonDocument.Parse(output).RootElement.Clone());
        }
    }

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "HealthScoring.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"HealthScoring.sln not found above {AppContext.BaseDirectory}.");
    }
}

internal sealed record InteropResult(JsonElement Json)
{
    /// <summary>grpcio's status name (DEADLINE_EXCEEDED) read as our enum (DeadlineExceeded).</summary>
    public StatusCode Code => Enum.Parse<StatusCode>(Json.GetProperty("code").GetString()!.Replace("_", "", StringComparison.Ordinal), ignoreCase: true);

    public string? Details => Json.GetProperty("details").GetString();

    public JsonElement Result => Json.GetProperty("result");

    public long ElapsedMs => Json.GetProperty("elapsed_ms").GetInt64();

    public string SentMessage => Json.GetProperty("sent_message").GetString()!;

    public JsonElement Status => Json.GetProperty("status");

    public string? Trailer(string key) =>
        Json.GetProperty("trailing_metadata").EnumerateArray().Where(p => p[0].GetString() == key).Select(p => p[1].GetString()).FirstOrDefault();

    public override string ToString() => Json.ToString();
}
