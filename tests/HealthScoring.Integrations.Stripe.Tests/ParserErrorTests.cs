using System.Text;
using System.Text.Json.Nodes;

namespace HealthScoring.Integrations.Stripe.Tests;

public sealed class ParserErrorTests
{
    [Fact]
    public void An_event_type_we_do_not_use_is_ignored_with_its_envelope()
    {
        var ignored = StripeEventParser.Parse(Fixtures.Text("payout.paid.basil.json")).ShouldBeOfType<IgnoredStripeEvent>();

        ignored.Envelope.Type.ShouldBe("payout.paid");
        ignored.Envelope.Id.ShouldBe("evt_1QuA1bRrCEELX9AhLk2m3N4o");
    }

    [Fact]
    public void A_related_subscription_event_outside_the_handled_list_is_ignored()
    {
        var node = Fixtures.Node("customer.subscription.updated.renewal.basil.json");
        node["type"] = "customer.subscription.pending_update_applied";

        StripeEventParser.Parse(node.ToJsonString()).ShouldBeOfType<IgnoredStripeEvent>();
        StripeEventParser.HandledEventTypes.Count.ShouldBeLessThanOrEqualTo(20, "GET /v1/events accepts at most 20 types[]");
    }

    [Theory]
    [InlineData("this is not json")]
    [InlineData("{\"id\":\"evt_1\",")]
    [InlineData("")]
    [InlineData(null)]
    public void Text_that_is_not_json_is_an_invalid_json_error(string? text)
    {
        var invalid = StripeEventParser.Parse(text).ShouldBeOfType<InvalidStripeEvent>();

        invalid.Error.Kind.ShouldBe(StripeEventErrorKind.InvalidJson);
        invalid.Error.Field.ShouldBe("$");
        invalid.Envelope.ShouldBeNull();
    }

    [Fact]
    public void Bytes_with_content_after_the_event_are_invalid_json()
    {
        var bytes = Encoding.UTF8.GetBytes(Fixtures.Line("payout.paid.basil.json") + " {}");

        StripeEventParser.Parse(bytes).ShouldBeOfType<InvalidStripeEvent>().Error.Kind.ShouldBe(StripeEventErrorKind.InvalidJson);
        StripeEventParser.Parse(Fixtures.Bytes("payout.paid.basil.json")).ShouldBeOfType<IgnoredStripeEvent>();
    }

    [Theory]
    [InlineData("[1,2,3]", "$")]
    [InlineData("\"evt_1\"", "$")]
    [InlineData("""{"object":"list","data":[],"has_more":false,"url":"/v1/events"}""", "object")]
    [InlineData("""{"object":"customer","id":"cus_1"}""", "object")]
    [InlineData("""{"object":"v2.core.event","id":"evt_test_65R9","type":"v1.billing.meter.error_report_triggered"}""", "object")]
    public void Json_that_is_not_an_event_says_so(string json, string field)
    {
        var invalid = StripeEventParser.Parse(json).ShouldBeOfType<InvalidStripeEvent>();

        invalid.Error.Kind.ShouldBe(StripeEventErrorKind.NotAnEvent);
        invalid.Error.Field.ShouldBe(field);
    }

    [Theory]
    [InlineData("id")]
    [InlineData("type")]
    [InlineData("created")]
    [InlineData("data")]
    public void A_missing_envelope_field_is_named(string field)
    {
        var node = Fixtures.Node("invoice.paid.basil.json");
        node.Remove(field);

        var error = StripeEventParser.Parse(node.ToJsonString()).ShouldBeOfType<InvalidStripeEvent>().Error;

        error.Kind.ShouldBe(StripeEventErrorKind.MissingField);
        error.Field.ShouldBe(field);
        error.Message.ShouldContain($"'{field}'");
    }

    [Fact]
    public void A_missing_data_object_is_named()
    {
        var node = Fixtures.Node("invoice.paid.basil.json");
        node["data"]!["object"] = null;

        var error = StripeEventParser.Parse(node.ToJsonString()).ShouldBeOfType<InvalidStripeEvent>().Error;

        error.Kind.ShouldBe(StripeEventErrorKind.MissingField);
        error.Field.ShouldBe("data.object");
    }

    [Fact]
    public void A_field_of_the_wrong_kind_is_named_with_what_was_expected()
    {
        var node = Fixtures.Node("invoice.paid.basil.json");
        node["created"] = "yesterday";

        var error = StripeEventParser.Parse(node.ToJsonString()).ShouldBeOfType<InvalidStripeEvent>().Error;

        error.Kind.ShouldBe(StripeEventErrorKind.InvalidField);
        error.Field.ShouldBe("created");
        error.Message.ShouldContain("whole number");
    }

    [Fact]
    public void A_subscription_without_a_customer_is_an_error_that_keeps_the_envelope()
    {
        var node = Fixtures.Node("customer.subscription.created.basil.json");
        node["data"]!["object"]!.AsObject().Remove("customer");

        var invalid = StripeEventParser.Parse(node.ToJsonString()).ShouldBeOfType<InvalidStripeEvent>();

        invalid.Error.Kind.ShouldBe(StripeEventErrorKind.MissingField);
        invalid.Error.Field.ShouldBe("data.object.customer");
        invalid.Envelope.ShouldNotBeNull().Id.ShouldBe("evt_1SAGUBBe0ycHroRBc1fV0k7x");
    }

    [Fact]
    public void A_bad_value_deep_in_an_item_is_named_by_its_path()
    {
        var node = Fixtures.Node("customer.subscription.updated.multi-item.basil.json");
        node["data"]!["object"]!["items"]!["data"]![2]!["quantity"] = "three";
        var previous = Fixtures.Node("customer.subscription.updated.multi-item.basil.json");
        previous["data"]!["previous_attributes"]!["items"]!["data"]![1]!["price"]!["recurring"]!["interval"] = 12;

        StripeEventParser.Parse(node.ToJsonString()).ShouldBeOfType<InvalidStripeEvent>().Error.Field
            .ShouldBe("data.object.items.data[2].quantity");
        StripeEventParser.Parse(previous.ToJsonString()).ShouldBeOfType<InvalidStripeEvent>().Error.Field
            .ShouldBe("data.previous_attributes.items.data[1].price.recurring.interval");
    }

    [Fact]
    public void An_event_whose_object_is_of_another_kind_than_its_type_implies_is_an_error()
    {
        var node = Fixtures.Node("invoice.paid.basil.json");
        node["type"] = "customer.subscription.updated";

        var error = StripeEventParser.Parse(node.ToJsonString()).ShouldBeOfType<InvalidStripeEvent>().Error;

        error.Field.ShouldBe("data.object.object");
        error.Message.ShouldContain("subscription");
    }

    [Fact]
    public void An_invoice_event_without_its_amount_names_the_amount()
    {
        var node = Fixtures.Node("invoice.payment_failed.basil.json");
        node["data"]!["object"]!.AsObject().Remove("amount_due");

        StripeEventParser.Parse(node.ToJsonString()).ShouldBeOfType<InvalidStripeEvent>().Error.Field.ShouldBe("data.object.amount_due");
    }

    [Fact]
    public void Every_prefix_of_every_fixture_parses_to_a_result_without_throwing()
    {
        var names = Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Fixtures"), "*.json").Select(Path.GetFileName).ToList();
        names.Count.ShouldBeGreaterThan(20);

        foreach (var name in names)
        {
            var line = Fixtures.Line(name!);
            for (var length = 0; length < line.Length; length += 53)
            {
                StripeEventParser.Parse(line[..length]).ShouldBeOfType<InvalidStripeEvent>();
            }

            StripeEventParser.Parse(line).ShouldNotBeOfType<InvalidStripeEvent>(name);
        }
    }

    [Fact]
    public void Every_field_of_a_fixture_replaced_by_a_value_of_another_kind_never_throws()
    {
        var original = Fixtures.Node("customer.subscription.updated.multi-item.basil.json");
        var paths = new List<string>();
        Collect(original, "", paths);

        foreach (var path in paths)
        {
            foreach (JsonNode? replacement in new JsonNode?[] { null, JsonValue.Create("x"), JsonValue.Create(-1), new JsonArray(), new JsonObject() })
            {
                var node = original.DeepClone().AsObject();
                Replace(node, path, replacement);
                StripeEventParser.Parse(node.ToJsonString()).ShouldNotBeNull();
            }
        }

        paths.Count.ShouldBeGreaterThan(100);
    }

    private static void Collect(JsonNode node, string path, List<string> paths)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (key, value) in obj)
                {
                    var child = path.Length == 0 ? key : $"{path}/{key}";
                    paths.Add(child);
                    if (value is not null)
                    {
                        Collect(value, child, paths);
                    }
                }

                break;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var child = $"{path}/{i}";
                    paths.Add(child);
                    if (array[i] is { } value)
                    {
                        Collect(value, child, paths);
                    }
                }

                break;
        }
    }

    private static void Replace(JsonObject root, string path, JsonNode? replacement)
    {
        var parts = path.Split('/');
        JsonNode current = root;
        foreach (var part in parts[..^1])
        {
            current = current is JsonArray a ? a[int.Parse(part, System.Globalization.CultureInfo.InvariantCulture)]! : current[part]!;
        }

        if (current is JsonArray array)
        {
            array[int.Parse(parts[^1], System.Globalization.CultureInfo.InvariantCulture)] = replacement;
        }
        else
        {
            current[parts[^1]] = replacement;
        }
    }
}
