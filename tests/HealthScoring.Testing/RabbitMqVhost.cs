using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace HealthScoring.Testing;

/// <summary>
/// A RabbitMQ virtual host of its own for one test class (created through the management API of the broker that
/// scripts/services.sh starts, deleted at the end), so tests never see each other's queues or messages.
/// </summary>
public sealed class RabbitMqVhost : IAsyncDisposable
{
    public static string Host { get; } = Environment.GetEnvironmentVariable("RabbitMq__Host") ?? "127.0.0.1";

    public static ushort Port { get; } = ushort.Parse(Environment.GetEnvironmentVariable("RabbitMq__Port") ?? Environment.GetEnvironmentVariable("HS_MQ_PORT") ?? "56720", System.Globalization.CultureInfo.InvariantCulture);

    public static string Username { get; } = Environment.GetEnvironmentVariable("RabbitMq__Username") ?? "healthscoring";

    public static string Password { get; } = Environment.GetEnvironmentVariable("RabbitMq__Password") ?? "healthscoring";

    private static int ManagementPort => int.Parse(Environment.GetEnvironmentVariable("RabbitMq__ManagementPort") ?? Environment.GetEnvironmentVariable("HS_MQ_MGMT_PORT") ?? "56780", System.Globalization.CultureInfo.InvariantCulture);

    private readonly HttpClient _http;

    private RabbitMqVhost(string name, HttpClient http)
    {
        Name = name;
        _http = http;
    }

    public string Name { get; }

    public static async Task<RabbitMqVhost> CreateAsync(CancellationToken cancellationToken = default)
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://{Host}:{ManagementPort}/api/") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{Username}:{Password}")));
        var name = $"hs-test-{Guid.NewGuid():N}";
        (await http.PutAsync(new Uri($"vhosts/{name}", UriKind.Relative), null, cancellationToken)).EnsureSuccessStatusCode();
        using var permissions = new StringContent("""{"configure":".*","write":".*","read":".*"}""", Encoding.UTF8, "application/json");
        (await http.PutAsync(new Uri($"permissions/{name}/{Username}", UriKind.Relative), permissions, cancellationToken)).EnsureSuccessStatusCode();
        return new RabbitMqVhost(name, http);
    }

    /// <summary>
    /// Takes up to <paramref name="count"/> messages off a queue of this vhost (through the management API's get, which
    /// acknowledges them): each message's headers and body as the broker holds them.
    /// </summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Headers, string Body)>> GetMessagesAsync(string queue, int count, CancellationToken cancellationToken = default)
    {
        using var request = new StringContent($$"""{"count":{{count}},"ackmode":"ack_requeue_false","encoding":"auto"}""", Encoding.UTF8, "application/json");
        using var response = await _http.PostAsync(new Uri($"queues/{Uri.EscapeDataString(Name)}/{Uri.EscapeDataString(queue)}/get", UriKind.Relative), request, cancellationToken);
        if (response.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return [];
        }

        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return [.. json.RootElement.EnumerateArray().Select(m => (
            (IReadOnlyDictionary<string, string>)(m.GetProperty("properties").TryGetProperty("headers", out var headers)
                ? headers.EnumerateObject().ToDictionary(h => h.Name, h => h.Value.ValueKind == JsonValueKind.String ? h.Value.GetString()! : h.Value.GetRawText(), StringComparer.Ordinal)
                : new Dictionary<string, string>(StringComparer.Ordinal)),
            m.GetProperty("payload").GetString() ?? ""))];
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _http.DeleteAsync(new Uri($"vhosts/{Name}", UriKind.Relative));
        }
        catch (HttpRequestException)
        {
            // The broker is gone (a test stopped it); the vhost goes with its state directory.
        }

        _http.Dispose();
    }
}
