using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Primitives;

namespace HealthScoring.Testing.Fakes.Stripe;

/// <summary>The endpoints: parameter checks, lists, customer updates, meters and meter events.</summary>
public sealed partial class FakeStripe
{
    private static readonly string[] ListParameters = ["limit", "starting_after", "ending_before", "created", "created[gt]", "created[gte]", "created[lt]", "created[lte]", "expand[]"];
    private static readonly string[] SubscriptionStatuses = ["active", "all", "canceled", "ended", "incomplete", "incomplete_expired", "past_due", "paused", "trialing", "unpaid"];
    private static readonly string[] InvoiceStatuses = ["draft", "open", "paid", "uncollectible", "void"];
    private static readonly TimeSpan MeterEventMaxAge = TimeSpan.FromDays(35);
    private static readonly TimeSpan MeterEventMaxSkew = TimeSpan.FromMinutes(5);

    private FakeResponse Execute(string method, string path, Dictionary<string, StringValues> query, Dictionary<string, string> form)
    {
        var segments = path.Trim('/').Split('/');
        try
        {
            JsonNode body = (method, segments) switch
            {
                ("GET", ["v1", "customers"]) => ListCustomers(query),
                ("GET", ["v1", "customers", var id]) => Retrieve(query, id, "customer"),
                ("POST", ["v1", "customers"]) => CreateCustomer(form),
                ("POST", ["v1", "customers", var id]) => UpdateCustomer(id, form),
                ("GET", ["v1", "subscriptions"]) => ListSubscriptions(query),
                ("GET", ["v1", "subscriptions", var id]) => Retrieve(query, id, "subscription"),
                ("GET", ["v1", "invoices"]) => ListInvoices(query),
                ("GET", ["v1", "invoices", var id]) => Retrieve(query, id, "invoice"),
                ("GET", ["v1", "events"]) => ListEvents(query),
                ("GET", ["v1", "events", var id]) => Retrieve(query, id, "event"),
                ("GET", ["v1", "billing", "meters"]) => List("/v1/billing/meters", _meters, query, _ => true),
                ("POST", ["v1", "billing", "meters"]) => CreateMeter(form),
                ("POST", ["v1", "billing", "meter_events"]) => CreateMeterEvent(form),
                _ => throw new StripeError(404, "invalid_request_error", $"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/."),
            };
            return new FakeResponse(200, body);
        }
        catch (StripeError error)
        {
            return error.ToResponse();
        }
    }

    // ---- Parameters ------------------------------------------------------------------------------------------

    private static void AllowOnly(IEnumerable<string> given, params IEnumerable<string>[] allowed)
    {
        var known = allowed.SelectMany(a => a).ToHashSet(StringComparer.Ordinal);
        foreach (var name in given)
        {
            if (!known.Contains(name))
            {
                throw new StripeError(400, "invalid_request_error", $"Received unknown parameter: {name}", name);
            }
        }
    }

    private static string? Single(Dictionary<string, StringValues> query, string name)
    {
        if (!query.TryGetValue(name, out var values))
        {
            return null;
        }

        return values.Count == 1 ? values[0] : throw new StripeError(400, "invalid_request_error", $"'{name}' was given more than once.", name);
    }

    private static long? Integer(Dictionary<string, StringValues> query, string name)
    {
        var text = Single(query, name);
        if (text is null)
        {
            return null;
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new StripeError(400, "invalid_request_error", $"Invalid integer: {text}", name);
    }

    private static Func<JsonObject, bool> CreatedFilter(Dictionary<string, StringValues> query)
    {
        var exact = Integer(query, "created");
        var gt = Integer(query, "created[gt]");
        var gte = Integer(query, "created[gte]");
        var lt = Integer(query, "created[lt]");
        var lte = Integer(query, "created[lte]");
        return o =>
        {
            var created = o["created"]!.GetValue<long>();
            return (exact is null || created == exact) && (gt is null || created > gt) && (gte is null || created >= gte)
                && (lt is null || created < lt) && (lte is null || created <= lte);
        };
    }

    // ---- Lists -----------------------------------------------------------------------------------------------

    /// <summary>
    /// Stripe's list contract: newest first; <c>limit</c> 1–100 (default 10); <c>starting_after</c> continues towards
    /// older objects, <c>ending_before</c> towards newer ones (the page nearest the cursor), never both; the cursor is
    /// placed among all objects, so it need not pass the filters.
    /// </summary>
    private JsonObject List(string url, List<JsonObject> items, Dictionary<string, StringValues> query, Func<JsonObject, bool> filter)
    {
        var limit = Integer(query, "limit") ?? 10;
        if (limit is < 1 or > 100)
        {
            throw new StripeError(400, "invalid_request_error", "Invalid limit: must be between 1 and 100", "limit");
        }

        var startingAfter = Single(query, "starting_after");
        var endingBefore = Single(query, "ending_before");
        if (startingAfter is not null && endingBefore is not null)
        {
            throw new StripeError(400, "invalid_request_error", "You may only specify one of these parameters: ending_before, starting_after.", "ending_before");
        }

        var created = CreatedFilter(query);
        var newestFirst = Enumerable.Range(0, items.Count).Select(i => items[items.Count - 1 - i]).ToList();
        bool Wanted(JsonObject o) => filter(o) && created(o);
        List<JsonObject> page;
        bool hasMore;
        if (endingBefore is not null)
        {
            var before = newestFirst.Take(IndexOf(newestFirst, endingBefore, "ending_before")).Where(Wanted).ToList();
            page = before.Skip(Math.Max(0, before.Count - (int)limit)).ToList();
            hasMore = before.Count > limit;
        }
        else
        {
            var from = startingAfter is null ? 0 : IndexOf(newestFirst, startingAfter, "starting_after") + 1;
            var rest = newestFirst.Skip(from).Where(Wanted).Take((int)limit + 1).ToList();
            page = rest.Take((int)limit).ToList();
            hasMore = rest.Count > limit;
        }

        return new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray([.. page.Select(o => o.DeepClone())]),
            ["has_more"] = hasMore,
            ["url"] = url,
        };
    }

    private static int IndexOf(List<JsonObject> items, string id, string param)
    {
        var index = items.FindIndex(o => o["id"]!.GetValue<string>() == id);
        return index >= 0
            ? index
            : throw new StripeError(400, "invalid_request_error", $"No such object: '{id}'", param, "resource_missing");
    }

    private JsonObject ListCustomers(Dictionary<string, StringValues> query)
    {
        AllowOnly(query.Keys, ListParameters, ["email"]);
        var email = Single(query, "email");
        return List("/v1/customers", _customers, query, c => email is null || c["email"]?.GetValue<string>() == email);
    }

    private JsonObject ListSubscriptions(Dictionary<string, StringValues> query)
    {
        AllowOnly(query.Keys, ListParameters, ["customer", "price", "status"]);
        var customer = Single(query, "customer");
        var price = Single(query, "price");
        var status = Single(query, "status");
        if (status is not null && !SubscriptionStatuses.Contains(status))
        {
            throw new StripeError(400, "invalid_request_error", $"Invalid status: must be one of {string.Join(", ", SubscriptionStatuses)}", "status");
        }

        return List("/v1/subscriptions", _subscriptions, query, s =>
        {
            var actual = s["status"]!.GetValue<string>();
            var statusMatches = status switch
            {
                null => actual != "canceled",
                "all" => true,
                "ended" => actual is "canceled" or "incomplete_expired",
                _ => actual == status,
            };
            return statusMatches
                && (customer is null || s["customer"]!.GetValue<string>() == customer)
                && (price is null || s["items"]!["data"]!.AsArray().Any(i => i!["price"]!["id"]!.GetValue<string>() == price));
        });
    }

    private JsonObject ListInvoices(Dictionary<string, StringValues> query)
    {
        AllowOnly(query.Keys, ListParameters, ["customer", "subscription", "status"]);
        var customer = Single(query, "customer");
        var subscription = Single(query, "subscription");
        var status = Single(query, "status");
        if (status is not null && !InvoiceStatuses.Contains(status))
        {
            throw new StripeError(400, "invalid_request_error", $"Invalid status: must be one of {string.Join(", ", InvoiceStatuses)}", "status");
        }

        return List("/v1/invoices", _invoices, query, i =>
            (status is null || i["status"]!.GetValue<string>() == status)
            && (customer is null || i["customer"]!.GetValue<string>() == customer)
            && (subscription is null || i["parent"]?["subscription_details"]?["subscription"]?.GetValue<string>() == subscription));
    }

    private JsonObject ListEvents(Dictionary<string, StringValues> query)
    {
        AllowOnly(query.Keys, ListParameters, ["type", "types[]", "delivery_success"]);
        var type = Single(query, "type");
        var types = query.TryGetValue("types[]", out var many) ? many.Select(t => t!).ToHashSet(StringComparer.Ordinal) : null;
        if (type is not null && types is not null)
        {
            throw new StripeError(400, "invalid_request_error", "You may only specify one of these parameters: type, types.", "types");
        }

        if (types is { Count: > 20 })
        {
            throw new StripeError(400, "invalid_request_error", "You may pass at most 20 event types.", "types");
        }

        bool Matches(string actual) => type switch
        {
            null => types is null || types.Contains(actual),
            _ when type.EndsWith(".*", StringComparison.Ordinal) => actual.StartsWith(type[..^1], StringComparison.Ordinal),
            _ => actual == type,
        };
        return List("/v1/events", _events, query, e => Matches(e["type"]!.GetValue<string>()));
    }

    private JsonObject Retrieve(Dictionary<string, StringValues> query, string id, string objectType)
    {
        AllowOnly(query.Keys, ["expand[]"]);
        return RequireLocked(id, objectType).DeepClone().AsObject();
    }

    // ---- Customers -------------------------------------------------------------------------------------------

    private JsonObject CreateCustomer(Dictionary<string, string> form)
    {
        var (metadata, fields) = ReadCustomerForm(form);
        var id = AddCustomerLocked(null, fields.GetValueOrDefault("email"), Now, emitEvent: false);
        var customer = _objects[id];
        ApplyCustomerFields(customer, fields);
        var current = customer["metadata"]!.AsObject();
        foreach (var (key, value) in metadata.Where(m => m.Value.Length > 0))
        {
            current[key] = value;
        }

        EmitEventLocked("customer.created", customer, null, null);
        return customer.DeepClone().AsObject();
    }

    private JsonObject UpdateCustomer(string id, Dictionary<string, string> form)
    {
        var customer = RequireLocked(id, "customer");
        var (metadata, fields) = ReadCustomerForm(form);
        var current = customer["metadata"]!.AsObject();
        var merged = current.ToDictionary(m => m.Key, m => m.Value!.GetValue<string>(), StringComparer.Ordinal);
        if (form.TryGetValue("metadata", out var whole))
        {
            if (whole.Length > 0)
            {
                throw new StripeError(400, "invalid_request_error", "Invalid object: metadata must be a hash, or an empty string to unset all keys", "metadata");
            }

            merged.Clear();
        }

        foreach (var (key, value) in metadata)
        {
            if (value.Length == 0)
            {
                merged.Remove(key);
            }
            else
            {
                merged[key] = value;
            }
        }

        if (merged.Count > 50)
        {
            throw new StripeError(400, "invalid_request_error", "Metadata can have at most 50 keys.", "metadata");
        }

        // Stripe merges metadata and reports the earlier values of changed keys (null for added ones).
        var previousMetadata = new JsonObject();
        foreach (var key in current.Select(c => c.Key).Union(merged.Keys, StringComparer.Ordinal).ToList())
        {
            var before = current[key]?.GetValue<string>();
            var after = merged.GetValueOrDefault(key);
            if (before != after)
            {
                previousMetadata[key] = before;
            }
        }

        var beforeFields = customer.DeepClone().AsObject();
        customer["metadata"] = new JsonObject([.. merged.Select(m => KeyValuePair.Create(m.Key, (JsonNode?)m.Value))]);
        ApplyCustomerFields(customer, fields);
        var previous = new JsonObject();
        if (previousMetadata.Count > 0)
        {
            previous["metadata"] = previousMetadata;
        }

        foreach (var field in fields.Keys.Where(f => !JsonNode.DeepEquals(beforeFields[f], customer[f])))
        {
            previous[field] = beforeFields[field]?.DeepClone();
        }

        if (previous.Count > 0)
        {
            EmitEventLocked("customer.updated", customer, previous, null);
        }

        return customer.DeepClone().AsObject();
    }

    private static (Dictionary<string, string> Metadata, Dictionary<string, string> Fields) ReadCustomerForm(Dictionary<string, string> form)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in form)
        {
            if (name.StartsWith("metadata[", StringComparison.Ordinal) && name.EndsWith(']'))
            {
                var key = name["metadata[".Length..^1];
                if (key.Length is 0 or > 40 || key.Contains('[', StringComparison.Ordinal) || key.Contains(']', StringComparison.Ordinal))
                {
                    throw new StripeError(400, "invalid_request_error", $"Metadata keys must be 1 to 40 characters without square brackets: '{key}'", name);
                }

                if (value.Length > 500)
                {
                    throw new StripeError(400, "invalid_request_error", "Metadata values can have up to 500 characters.", name);
                }

                metadata[key] = value;
            }
            else if (name is "email" or "name" or "description")
            {
                fields[name] = value;
            }
            else if (name != "metadata")
            {
                throw new StripeError(400, "invalid_request_error", $"Received unknown parameter: {name}", name);
            }
        }

        return (metadata, fields);
    }

    private static void ApplyCustomerFields(JsonObject customer, Dictionary<string, string> fields)
    {
        foreach (var (name, value) in fields)
        {
            customer[name] = value.Length == 0 ? null : value;
        }
    }

    // ---- Meters and meter events -----------------------------------------------------------------------------

    private JsonObject CreateMeter(Dictionary<string, string> form)
    {
        AllowOnly(
            form.Keys,
            ["display_name", "event_name", "default_aggregation[formula]", "customer_mapping[type]", "customer_mapping[event_payload_key]", "value_settings[event_payload_key]", "event_time_window"]);
        var displayName = Required(form, "display_name");
        var eventName = Required(form, "event_name");
        if (eventName.Length > 100)
        {
            throw new StripeError(400, "invalid_request_error", "event_name can have up to 100 characters.", "event_name");
        }

        var formula = Required(form, "default_aggregation[formula]");
        if (formula is not ("sum" or "count" or "last"))
        {
            throw new StripeError(400, "invalid_request_error", "Invalid default_aggregation[formula]: must be one of sum, count, last", "default_aggregation[formula]");
        }

        if (form.TryGetValue("customer_mapping[type]", out var mapping) && mapping != "by_id")
        {
            throw new StripeError(400, "invalid_request_error", "Invalid customer_mapping[type]: must be by_id", "customer_mapping[type]");
        }

        if (form.TryGetValue("event_time_window", out var window) && window is not ("day" or "hour"))
        {
            throw new StripeError(400, "invalid_request_error", "Invalid event_time_window: must be one of day, hour", "event_time_window");
        }

        return CreateMeterLocked(
                displayName,
                eventName,
                formula,
                form.GetValueOrDefault("customer_mapping[event_payload_key]") ?? "stripe_customer_id",
                form.GetValueOrDefault("value_settings[event_payload_key]") ?? "value")
            .DeepClone().AsObject();
    }

    /// <summary>
    /// Checks what Stripe checks synchronously and stores one event per <c>identifier</c>: a second event with a known
    /// identifier is answered like the first and not stored (Stripe drops it).
    /// </summary>
    private JsonObject CreateMeterEvent(Dictionary<string, string> form)
    {
        foreach (var name in form.Keys.Where(n => !n.StartsWith("payload[", StringComparison.Ordinal)))
        {
            AllowOnly([name], ["event_name", "identifier", "timestamp"]);
        }

        var eventName = Required(form, "event_name");
        if (eventName.Length > 100)
        {
            throw new StripeError(400, "invalid_request_error", "event_name can have up to 100 characters.", "event_name");
        }

        var meter = _meters.FirstOrDefault(m => m["event_name"]!.GetValue<string>() == eventName);
        var customerKey = meter?["customer_mapping"]!["event_payload_key"]!.GetValue<string>() ?? "stripe_customer_id";
        var valueKey = meter?["value_settings"]!["event_payload_key"]!.GetValue<string>() ?? "value";
        var customer = Required(form, $"payload[{customerKey}]");
        var valueText = Required(form, $"payload[{valueKey}]");
        if (!long.TryParse(valueText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new StripeError(400, "invalid_request_error", $"Invalid payload[{valueKey}]: the usage value must be a whole number", $"payload[{valueKey}]");
        }

        var now = Now;
        var timestamp = now;
        if (form.TryGetValue("timestamp", out var timestampText))
        {
            timestamp = long.TryParse(timestampText, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
                ? DateTimeOffset.FromUnixTimeSeconds(seconds)
                : throw new StripeError(400, "invalid_request_error", $"Invalid timestamp: {timestampText}", "timestamp");
            if (timestamp < now - MeterEventMaxAge || timestamp > now + MeterEventMaxSkew)
            {
                throw new StripeError(400, "invalid_request_error", "Timestamp must be within the past 35 calendar days and no more than 5 minutes in the future.", "timestamp");
            }
        }

        var identifier = form.GetValueOrDefault("identifier") ?? $"fake-{Guid.NewGuid():N}";
        if (identifier.Length is 0 or > 100)
        {
            throw new StripeError(400, "invalid_request_error", "identifier must be 1 to 100 characters.", "identifier");
        }

        if (!_meterEventsByIdentifier.TryGetValue(identifier, out var stored))
        {
            stored = new FakeMeterEvent(eventName, identifier, customer, value, timestamp);
            _meterEventsByIdentifier[identifier] = stored;
            _meterEvents.Add(stored);
        }

        return new JsonObject
        {
            ["object"] = "billing.meter_event",
            ["created"] = Unix(now),
            ["event_name"] = stored.EventName,
            ["identifier"] = stored.Identifier,
            ["livemode"] = false,
            ["payload"] = new JsonObject { [customerKey] = stored.CustomerId, [valueKey] = Text(stored.Value) },
            ["timestamp"] = Unix(stored.Timestamp),
        };
    }

    private static string Required(Dictionary<string, string> form, string name) =>
        form.TryGetValue(name, out var value) && value.Length > 0
            ? value
            : throw new StripeError(400, "invalid_request_error", $"Missing required param: {name}.", name);
}
