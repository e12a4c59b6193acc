using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using HealthScoring.Testing.Fakes.HubSpot;
using HealthScoring.Testing.Fakes.Stripe;

// Usage: HealthScoring.FakeServices --accounts accounts.csv --billing billing.jsonl --out DIR
// Starts the fake HubSpot (an owner per account owner, a company per account carrying our account id) and the fake
// Stripe (the customers of the billing export, by their ids), writes DIR/fakes.env with the settings the API host
// needs to use them, then DIR/fakes.json with what they received every second, until SIGTERM or Ctrl+C.
var arguments = ParseArguments(args);
var outDir = Directory.CreateDirectory(arguments["--out"]);

await using var hubSpot = await FakeHubSpot.StartNewAsync();
await using var stripe = new FakeStripe();
await stripe.StartAsync();

var companies = SeedHubSpot(hubSpot, arguments["--accounts"]);
var customers = SeedStripe(stripe, arguments["--billing"]);

var env = Path.Combine(outDir.FullName, "fakes.env");
await File.WriteAllLinesAsync(env,
[
    $"export HubSpot__BaseUrl={hubSpot.BaseAddress}",
    $"export HubSpot__AccessToken={hubSpot.AccessToken}",
    $"export Stripe__BaseUrl={stripe.BaseAddress.ToString().TrimEnd('/')}",
    $"export Stripe__SecretKey={stripe.SecretKey}",
]);
Console.WriteLine($"fake HubSpot on {hubSpot.BaseAddress} ({companies} companies), fake Stripe on {stripe.BaseAddress} ({customers} customers); settings in {env}");

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    stop.Cancel();
};
AppDomain.CurrentDomain.ProcessExit += (_, _) => stop.Cancel();

var status = Path.Combine(outDir.FullName, "fakes.json");
while (!stop.IsCancellationRequested)
{
    await WriteStatusAsync(status, hubSpot, stripe);
    try
    {
        await Task.Delay(TimeSpan.FromSeconds(1), stop.Token);
    }
    catch (OperationCanceledException)
    {
        break;
    }
}

await WriteStatusAsync(status, hubSpot, stripe);
return 0;

static Dictionary<string, string> ParseArguments(string[] args)
{
    var parsed = new Dictionary<string, string>(StringComparer.Ordinal);
    for (var i = 0; i + 1 < args.Length; i += 2)
    {
        parsed[args[i]] = args[i + 1];
    }

    foreach (var required in new[] { "--accounts", "--billing", "--out" })
    {
        if (!parsed.ContainsKey(required))
        {
            Console.Error.WriteLine("usage: HealthScoring.FakeServices --accounts accounts.csv --billing billing.jsonl --out DIR");
            Environment.Exit(2);
        }
    }

    return parsed;
}

// accounts.csv from `healthscore generate`: account_id,name,plan,…,owner ("Name <email>"),…
static int SeedHubSpot(FakeHubSpot hubSpot, string accountsCsv)
{
    // The company property holding our account id, as a HubSpot admin would have set it up for the mapping.
    hubSpot.DefineCompanyProperty("healthscoring_account_id", hasUniqueValue: true);
    var owners = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
    var lines = File.ReadAllLines(accountsCsv);
    var header = lines[0].Split(',');
    int Column(string name) => Array.IndexOf(header, name);
    var (id, name, owner) = (Column("account_id"), Column("name"), Column("owner"));
    foreach (var line in lines.Skip(1).Where(l => l.Length > 0))
    {
        // Generated names and owners hold no commas or quotes, so a plain split reads them.
        var cells = line.Split(',');
        var ownerText = cells[owner];
        var open = ownerText.IndexOf('<', StringComparison.Ordinal);
        var email = open >= 0 ? ownerText[(open + 1)..].TrimEnd('>') : ownerText;
        if (!owners.TryGetValue(email, out var ownerId))
        {
            var full = (open >= 0 ? ownerText[..open] : email).Trim().Split(' ', 2);
            ownerId = hubSpot.AddOwner(email, full[0], full.Length > 1 ? full[1] : "").Id;
            owners[email] = ownerId;
        }

        hubSpot.AddCompany(cells[name], ownerId, new Dictionary<string, string?> { ["healthscoring_account_id"] = cells[id] });
    }

    return lines.Length - 1;
}

// billing.jsonl: Stripe events; every customer.created becomes a customer with the same id and metadata.
static int SeedStripe(FakeStripe stripe, string billingJsonl)
{
    var count = 0;
    foreach (var line in File.ReadLines(billingJsonl))
    {
        if (!line.Contains("\"customer.created\"", StringComparison.Ordinal))
        {
            continue;
        }

        var customer = JsonNode.Parse(line)!["data"]!["object"]!;
        var metadata = customer["metadata"]?.AsObject().ToDictionary(p => p.Key, p => p.Value?.ToString() ?? "") ?? [];
        stripe.AddCustomer(metadata, customer["email"]?.GetValue<string>(), id: customer["id"]!.GetValue<string>());
        count++;
    }

    return count;
}

static async Task WriteStatusAsync(string path, FakeHubSpot hubSpot, FakeStripe stripe)
{
    var status = new
    {
        hubspot = new
        {
            companies = hubSpot.Companies.Count,
            companiesScored = hubSpot.Companies.Count(c => c.Properties.GetValueOrDefault("healthscoring_health_score") is not null),
            tasks = hubSpot.Tasks.Count,
            requests = hubSpot.Calls.Count,
            maxRequestsInAnyTenSeconds = hubSpot.MaxRequestsInAnyTenSeconds,
        },
        stripe = new
        {
            requests = stripe.Requests.Count,
            meterEvents = stripe.MeterEvents.Count,
        },
        updatedAt = DateTimeOffset.UtcNow.ToString("O", CultureInfo.InvariantCulture),
    };
    var temporary = path + ".tmp";
    await File.WriteAllTextAsync(temporary, JsonSerializer.Serialize(status));
    File.Move(temporary, path, overwrite: true);
}
