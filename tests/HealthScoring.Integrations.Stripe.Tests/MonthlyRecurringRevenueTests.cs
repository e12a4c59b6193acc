using System.Text.Json.Nodes;

namespace HealthScoring.Integrations.Stripe.Tests;

/// <summary>MRR from a real Basil subscription payload whose items are replaced by the case's prices.</summary>
public sealed class MonthlyRecurringRevenueTests
{
    [Theory]
    [InlineData(4900, "month", 1, 1, 4_900)]
    [InlineData(120000, "year", 1, 1, 10_000)]
    [InlineData(1000, "week", 1, 1, 4_333)] // 1000 × 52 / 12 = 4333.33
    [InlineData(100, "day", 1, 1, 3_042)] // 100 × 365 / 12 = 3041.67
    [InlineData(29700, "month", 3, 1, 9_900)] // quarterly
    [InlineData(240000, "year", 2, 1, 10_000)] // every two years
    [InlineData(1500, "month", 1, 7, 10_500)] // seven seats
    [InlineData(9900, "year", 1, 5, 4_125)] // 49500 a year / 12
    public void One_item_is_normalized_to_a_month(long unitAmount, string interval, long intervalCount, long quantity, long expectedMrr)
    {
        var subscription = Parse(Item(unitAmount, interval, intervalCount, quantity));

        subscription.MonthlyRecurringRevenueMinor.ShouldBe(expectedMrr);
        subscription.Quantity.ShouldBe(quantity);
    }

    [Fact]
    public void Several_items_are_added_up_before_rounding()
    {
        var subscription = Parse(
            Item(1500, "month", 1, 10),
            Item(60000, "year", 1, 1),
            Item(1000, "week", 1, 1),
            Item(1000, "week", 1, 1));

        // 15000 + 5000 + 4333.33 + 4333.33 = 28666.67
        subscription.MonthlyRecurringRevenueMinor.ShouldBe(28_667);
        subscription.Quantity.ShouldBe(13);
    }

    [Fact]
    public void A_sub_cent_price_uses_unit_amount_decimal()
    {
        var item = Item(null, "month", 1, 1000);
        item["price"]!["unit_amount_decimal"] = "0.5";

        Parse(item).MonthlyRecurringRevenueMinor.ShouldBe(500);
    }

    [Fact]
    public void Package_pricing_divides_the_quantity_and_rounds_as_the_price_says()
    {
        var up = Item(1000, "month", 1, 25);
        up["price"]!["transform_quantity"] = new JsonObject { ["divide_by"] = 10, ["round"] = "up" };
        var down = Item(1000, "month", 1, 25);
        down["price"]!["transform_quantity"] = new JsonObject { ["divide_by"] = 10, ["round"] = "down" };

        Parse(up).MonthlyRecurringRevenueMinor.ShouldBe(3_000);
        Parse(down).MonthlyRecurringRevenueMinor.ShouldBe(2_000);
    }

    [Fact]
    public void A_tiered_price_without_a_unit_amount_makes_mrr_unknown()
    {
        var tiered = Item(null, "month", 1, 40);
        tiered["price"]!["billing_scheme"] = "tiered";
        tiered["price"]!["tiers_mode"] = "graduated";

        var subscription = Parse(Item(4900, "month", 1, 1), tiered);

        subscription.MonthlyRecurringRevenueMinor.ShouldBeNull();
        subscription.Quantity.ShouldBe(41);
    }

    [Fact]
    public void Metered_items_count_for_nothing()
    {
        var metered = Item(2, "month", 1, null);
        metered["price"]!["recurring"]!["usage_type"] = "metered";

        Parse(metered).MonthlyRecurringRevenueMinor.ShouldBe(0);
        Parse(Item(4900, "month", 1, 2), metered).MonthlyRecurringRevenueMinor.ShouldBe(9_800);
    }

    [Fact]
    public void Absurd_amounts_make_mrr_unknown_instead_of_throwing()
    {
        var subscription = Parse(Item(long.MaxValue, "day", 1, long.MaxValue), Item(long.MaxValue, "month", 1, long.MaxValue));

        subscription.MonthlyRecurringRevenueMinor.ShouldBeNull();
        subscription.Items[0].MonthlyAmountMinor.ShouldBeNull();
        subscription.Quantity.ShouldBe(long.MaxValue);
    }

    [Fact]
    public void A_truncated_item_list_makes_mrr_unknown()
    {
        var node = Fixtures.Node("customer.subscription.created.basil.json");
        node["data"]!["object"]!["items"]!["has_more"] = true;

        var fact = Fixtures.ParseJson(node.ToJsonString()).Fact.ShouldBeOfType<SubscriptionStarted>();

        fact.Subscription.ItemsComplete.ShouldBeFalse();
        fact.Subscription.MonthlyRecurringRevenueMinor.ShouldBeNull();
    }

    [Fact]
    public void A_price_given_only_as_an_id_falls_back_to_the_legacy_plan_on_the_item()
    {
        var item = Item(4900, "month", 1, 2);
        item["price"] = "price_1SAFNkBe0ycHroRBidLX2jgZ";

        var subscription = Parse(item);

        subscription.PriceIds.ShouldBe(["price_1SAFNkBe0ycHroRBidLX2jgZ"]);
        subscription.MonthlyRecurringRevenueMinor.ShouldBe(9_800);
    }

    private static JsonObject Item(long? unitAmount, string interval, long intervalCount, long? quantity)
    {
        var template = Fixtures.Node("customer.subscription.created.basil.json")["data"]!["object"]!["items"]!["data"]![0]!.DeepClone().AsObject();
        var price = template["price"]!.AsObject();
        var id = $"price_test_{unitAmount}_{interval}_{intervalCount}_{Guid.NewGuid():N}";
        price["id"] = id;
        price["unit_amount"] = unitAmount;
        price["unit_amount_decimal"] = unitAmount?.ToString(System.Globalization.CultureInfo.InvariantCulture);
        price["recurring"]!["interval"] = interval;
        price["recurring"]!["interval_count"] = intervalCount;
        var plan = template["plan"]!.AsObject();
        plan["id"] = id;
        plan["amount"] = unitAmount;
        plan["amount_decimal"] = price["unit_amount_decimal"]?.DeepClone();
        plan["interval"] = interval;
        plan["interval_count"] = intervalCount;
        template["quantity"] = quantity;
        return template;
    }

    private static StripeSubscriptionSnapshot Parse(params JsonObject[] items)
    {
        var node = Fixtures.Node("customer.subscription.created.basil.json");
        node["data"]!["object"]!["items"]!["data"] = new JsonArray([.. items.Select(item => item.DeepClone())]);
        return Fixtures.ParseJson(node.ToJsonString()).Fact.ShouldBeOfType<SubscriptionStarted>().Subscription;
    }
}
