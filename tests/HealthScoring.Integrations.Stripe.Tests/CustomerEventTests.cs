using System.Text.Json;

namespace HealthScoring.Integrations.Stripe.Tests;

public sealed class CustomerEventTests
{
    private const string Customer = "cus_T66xzarl5v73XN";

    [Fact]
    public void A_created_customer_keeps_metadata_and_whether_an_email_exists_but_not_the_email()
    {
        var fact = Fixtures.Fact<CustomerCreated>("customer.created.basil.json");

        fact.CustomerId.ShouldBe(Customer);
        fact.Metadata.ShouldBeEmpty();
        fact.HasEmail.ShouldBeTrue();
        fact.Delinquent.ShouldBe(false);
        fact.ToString().ShouldNotContain("finance@acme.example");
        fact.ToString().ShouldNotContain("Acme Corp");
        new StripeCustomerLink().AccountIdFrom(fact).ShouldBeNull();
    }

    [Fact]
    public void An_updated_customer_shows_its_new_metadata_and_what_changed()
    {
        var fact = Fixtures.Fact<CustomerUpdated>("customer.updated.basil.json");

        fact.Metadata["account_id"].ShouldBe("acme-0042");
        fact.CustomerMetadata.ShouldBeSameAs(fact.Metadata);
        fact.ChangedFields.ShouldBe(["metadata"]);
        var previous = fact.PreviousMetadata.ShouldNotBeNull();
        previous.ContainsKey("account_id").ShouldBeTrue();
        previous["account_id"].ShouldBeNull("the key was added by this update");
        new StripeCustomerLink().AccountIdFrom(fact).ShouldBe("acme-0042");
    }

    [Fact]
    public void A_deleted_customer_still_links_to_its_account()
    {
        var fact = Fixtures.Fact<CustomerDeleted>("customer.deleted.basil.json");

        fact.CustomerId.ShouldBe(Customer);
        fact.HasEmail.ShouldBeFalse();
        new StripeCustomerLink().AccountIdFrom(fact).ShouldBe("acme-0042");
    }

    [Fact]
    public void The_link_reads_a_configurable_metadata_key_from_a_customer_object()
    {
        var customerJson = Fixtures.Node("customer.updated.basil.json")["data"]!["object"]!.ToJsonString();
        using var customer = JsonDocument.Parse(customerJson);

        new StripeCustomerLink().AccountIdFrom(customer.RootElement).ShouldBe("acme-0042");
        new StripeCustomerLink("plan_tier").AccountIdFrom(customer.RootElement).ShouldBe("enterprise");
        new StripeCustomerLink("missing_key").AccountIdFrom(customer.RootElement).ShouldBeNull();
        new StripeCustomerLink().AccountIdFromJson(customerJson).ShouldBe("acme-0042");
        new StripeCustomerLink().MetadataKey.ShouldBe(StripeCustomerLink.DefaultMetadataKey);
    }

    [Theory]
    [InlineData("""{"object":"subscription","metadata":{"account_id":"acme-0042"}}""")]
    [InlineData("""{"object":"customer","metadata":{"account_id":"   "}}""")]
    [InlineData("""{"object":"customer","metadata":null}""")]
    [InlineData("""{"object":"customer","metadata":{"account_id":42}}""")]
    [InlineData("""[]""")]
    [InlineData("""not json""")]
    public void The_link_gives_no_account_for_anything_but_a_customer_with_the_key(string json)
    {
        new StripeCustomerLink().AccountIdFromJson(json).ShouldBeNull();
    }

    [Fact]
    public void The_link_trims_the_account_id_and_reads_plain_dictionaries()
    {
        var link = new StripeCustomerLink();

        link.AccountIdFrom(new Dictionary<string, string> { ["account_id"] = " acme-7 " }).ShouldBe("acme-7");
        link.AccountIdFrom((IReadOnlyDictionary<string, string>?)null).ShouldBeNull();
    }
}
