using System.Security.Cryptography;
using System.Text;
using HealthScoring.EventStore;

namespace HealthScoring.Cli.Demo;

/// <summary>
/// A deterministic synthetic workload: accounts with a few to a few dozen users, daily product usage over a
/// window, some accounts growing, some declining. Event ids derive from the seed, so running again stores nothing new.
/// </summary>
internal sealed class DemoWorkload(int accounts, int days, int seed, DateOnly lastDay)
{
    private static readonly string[] EventNames = ["login", "dashboard_viewed", "report_exported", "api_call", "seat_invited", "integration_synced"];

    public int Accounts => accounts;

    public static string AccountStream(int account) => $"account-{account:D5}";

    /// <summary>The events of each account in turn; the shape of an account's curve comes from its number and the seed.</summary>
    public IEnumerable<StreamEvent> Generate()
    {
        var firstDay = lastDay.AddDays(-(days - 1));
        for (var account = 1; account <= accounts; account++)
        {
            var random = new Random(unchecked((seed * 1_000_003) + account)); // not HashCode: it is salted per process
            var users = 3 + random.Next(28);
            // -1: usage fades out over the window; +1: grows; 0: steady.
            var trend = (account % 5) switch { 0 => -1, 1 => 1, _ => 0 };
            var stream = AccountStream(account);
            var n = 0;
            for (var d = 0; d < days; d++)
            {
                var progress = (double)d / Math.Max(days - 1, 1);
                var activity = trend switch { -1 => 1.0 - (0.85 * progress), 1 => 0.5 + (0.5 * progress), _ => 0.8 };
                var day = firstDay.AddDays(d);
                for (var u = 0; u < users; u++)
                {
                    if (random.NextDouble() > activity * 0.6)
                    {
                        continue;
                    }

                    var eventsToday = 1 + random.Next(4);
                    for (var k = 0; k < eventsToday; k++)
                    {
                        var at = day.ToDateTime(new TimeOnly(8 + random.Next(10), random.Next(60)), DateTimeKind.Utc);
                        var name = EventNames[random.Next(EventNames.Length)];
                        yield return new StreamEvent(stream, new NewEvent(
                            DeterministicId(seed, account, n++),
                            new ProductUsageRecorded($"user-{account:D5}-{u:D2}", name),
                            new EventMetadata(Source: "demo"),
                            new DateTimeOffset(at)));
                    }
                }
            }
        }
    }

    private static Guid DeterministicId(int seed, int account, int n)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.ASCII.GetBytes($"demo:{seed}:{account}:{n}"), hash);
        return new Guid(hash[..16]);
    }
}
