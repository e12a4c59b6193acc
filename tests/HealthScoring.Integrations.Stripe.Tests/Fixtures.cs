using System.Text.Json.Nodes;

namespace HealthScoring.Integrations.Stripe.Tests;

/// <summary>Loads the Stripe event payloads under Fixtures/ (copied to the output directory).</summary>
internal static class Fixtures
{
    public static string Text(string name) => File.ReadAllText(PathOf(name));

    public static byte[] Bytes(string name) => File.ReadAllBytes(PathOf(name));

    public static JsonObject Node(string name) => JsonNode.Parse(Text(name))!.AsObject();

    /// <summary>The fixture on one line, as it would sit in a JSON-lines file.</summary>
    public static string Line(string name) => Node(name).ToJsonString();

    public static string PathOf(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    public static ParsedStripeEvent ParseOk(string name) => ParseJson(Text(name));

    public static ParsedStripeEvent ParseJson(string json)
    {
        var result = StripeEventParser.Parse(json);
        if (result is InvalidStripeEvent invalid)
        {
            throw new Xunit.Sdk.XunitException($"Expected a parsed event but got {invalid.Error}");
        }

        return result.ShouldBeOfType<ParsedStripeEvent>();
    }

    public static T Fact<T>(string name)
        where T : StripeBillingFact => ParseOk(name).Fact.ShouldBeOfType<T>();
}
