using System.Text.Json.Nodes;

namespace HealthScoring.Testing.Fakes.Stripe;

/// <summary>The fake's objects and the seeding helpers tests use to fill it.</summary>
public sealed partial class FakeStripe
{
    private readonly List<JsonObject> _customers = [];
    private readonly List<JsonObject> _subscriptions = [];
    private readonly List<JsonObject> _invoices = [];
    private readonly List<JsonObject> _events = [];
    private readonly List<JsonObject> _meters = [];
    private readonly Dictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly List<FakeMeterEvent> _meterEvents = [];
    private readonly Dictionary<string, FakeMeterEvent> _meterEventsByIdentifier = new(StringComparer.Ordinal);
    private long _idCounter;
    private long _lastEventCreated;

    /// <summary>The meter events stored, one per identifier, oldest first.</summary>
    public IReadOnlyList<FakeMeterEvent> MeterEvents
    {
        get
        {
            lock (_lock)
            {
                return [.. _meterEvents];
            }
        }
    }

    public int EventCount
    {
        get
        {
            lock (_lock)
            {
                return _events.Count;
            }
        }
    }

    /// <summary>A copy of any stored object (customer, subscription, invoice, event, meter) by id.</summary>
    public JsonObject GetObject(string id)
    {
        lock (_lock)
        {
            return _objects.TryGetValue(id, out var found) ? found.DeepClone().AsObject() : throw new KeyNotFoundException($"The fake holds no object '{id}'.");
        }
    }

    /// <summary>The ids of the stored objects of a type (<c>customer</c>, <c>subscription</c>, <c>invoice</c>, <c>event</c>), oldest first, optionally only a customer's.</summary>
    public IReadOnlyList<string> IdsOf(string objectType, string? customerId = null)
    {
        lock (_lock)
        {
            return
            [
                .. _objects.Values
                    .Where(o => o["object"]?.GetValue<string>() == objectType && (customerId is null || o["customer"]?.GetValue<string>() == customerId))
                    .Select(o => o["id"]!.GetValue<string>())
                    .Order(StringComparer.Ordinal),
            ];
        }
    }

    /// <summary>A customer's current metadata.</summary>
    public IReadOnlyDictionary<string, string> CustomerMetadata(string customerId)
    {
        var metadata = GetObject(customerId)["metadata"]!.AsObject();
        return metadata.ToDictionary(m => m.Key, m => m.Value!.GetValue<string>(), StringComparer.Ordinal);
    }

    // ---- Seeding ---------------------------------------------------------------------------------------------

    /// <summary>
    /// Adds <paramref name="count"/> customers, each with (by default) one active subscription and one paid invoice,
    /// created a minute apart ending now, and returns their ids oldest first.
    /// </summary>
    public IReadOnlyList<string> AddCustomers(int count, FakeCustomerSeed? seed = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        seed ??= new FakeCustomerSeed();
        var ids = new List<string>(count);
        var start = Now.AddMinutes(-count);
        lock (_lock)
        {
            for (var i = 1; i <= count; i++)
            {
                var created = start.AddMinutes(i);
                var metadata = seed.AccountIdPrefix is null ? null : new Dictionary<string, string> { ["account_id"] = $"{seed.AccountIdPrefix}{i}" };
                var customer = AddCustomerLocked(metadata, $"customer{i}@example.com", created, seed.EmitEvents);
                ids.Add(customer);
                string? subscription = null;
                if (seed.SubscriptionStatus is { } status)
                {
                    subscription = AddSubscriptionLocked(customer, status, seed.PriceId, seed.UnitAmount, seed.Quantity, created, seed.EmitEvents);
                }

                for (var n = 0; n < seed.InvoicesPerCustomer; n++)
                {
                    AddInvoiceLocked(customer, subscription, seed.InvoiceStatus, seed.UnitAmount * seed.Quantity, created, seed.EmitEvents);
                }
            }
        }

        return ids;
    }

    /// <summary>Adds a customer; <paramref name="id"/> keeps an id known elsewhere (e.g. from a billing export).</summary>
    public string AddCustomer(IReadOnlyDictionary<string, string>? metadata = null, string? email = "customer@example.com", bool emitEvent = false, string? id = null)
    {
        lock (_lock)
        {
            return AddCustomerLocked(metadata, email, Now, emitEvent, id);
        }
    }

    public string AddSubscription(string customerId, string status = "active", string priceId = "price_fake_pro_monthly", long unitAmount = 4_900, long quantity = 1, bool emitEvent = false)
    {
        lock (_lock)
        {
            RequireLocked(customerId, "customer");
            return AddSubscriptionLocked(customerId, status, priceId, unitAmount, quantity, Now, emitEvent);
        }
    }

    public string AddInvoice(string customerId, string? subscriptionId, string status = "paid", long amount = 4_900, bool emitEvent = false)
    {
        lock (_lock)
        {
            RequireLocked(customerId, "customer");
            return AddInvoiceLocked(customerId, subscriptionId, status, amount, Now, emitEvent);
        }
    }

    /// <summary>
    /// Changes a stored object (<paramref name="change"/> edits it in place) and, when <paramref name="eventType"/> is
    /// given, records that event with <c>previous_attributes</c> holding the top-level fields that changed.
    /// Returns the event's JSON, or null.
    /// </summary>
    public string? Update(string id, Action<JsonObject> change, string? eventType = null)
    {
        ArgumentNullException.ThrowIfNull(change);
        lock (_lock)
        {
            var target = _objects.TryGetValue(id, out var found) ? found : throw new KeyNotFoundException($"The fake holds no object '{id}'.");
            var before = target.DeepClone().AsObject();
            change(target);
            if (eventType is null)
            {
                return null;
            }

            var previous = new JsonObject();
            foreach (var (name, value) in before)
            {
                if (!JsonNode.DeepEquals(value, target[name]))
                {
                    previous[name] = value?.DeepClone();
                }
            }

            return EmitEventLocked(eventType, target, previous, null).ToJsonString();
        }
    }

    /// <summary>
    /// Records an event carrying <paramref name="dataObject"/> (copied) and returns its JSON: what a webhook delivery of it
    /// would carry, and what <c>GET /v1/events</c> returns for it.
    /// </summary>
    public string AddEvent(string type, JsonObject dataObject, JsonObject? previousAttributes = null, DateTimeOffset? created = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(type);
        ArgumentNullException.ThrowIfNull(dataObject);
        lock (_lock)
        {
            return EmitEventLocked(type, dataObject, previousAttributes, created).ToJsonString();
        }
    }

    /// <summary>A billing meter (<c>POST /v1/billing/meters</c> does the same over HTTP).</summary>
    public string AddMeter(string eventName, string formula = "sum")
    {
        lock (_lock)
        {
            return CreateMeterLocked(eventName, eventName, formula, "stripe_customer_id", "value")["id"]!.GetValue<string>();
        }
    }

    // ---- Builders (under the lock) ---------------------------------------------------------------------------

    private string NewId(string prefix) => $"{prefix}_fake{++_idCounter:D8}";

    private JsonObject RequireLocked(string id, string objectType, string? param = null)
    {
        if (_objects.TryGetValue(id, out var found) && found["object"]?.GetValue<string>() == objectType)
        {
            return found;
        }

        throw new StripeError(404, "invalid_request_error", $"No such {objectType}: '{id}'", param ?? "id", "resource_missing");
    }

    private void Store(List<JsonObject> list, JsonObject item)
    {
        list.Add(item);
        _objects[item["id"]!.GetValue<string>()] = item;
    }

    private string AddCustomerLocked(IReadOnlyDictionary<string, string>? metadata, string? email, DateTimeOffset created, bool emitEvent, string? knownId = null)
    {
        var id = knownId ?? NewId("cus");
        var meta = new JsonObject();
        foreach (var (k, v) in metadata ?? new Dictionary<string, string>())
        {
            meta[k] = v;
        }

        var customer = new JsonObject
        {
            ["id"] = id,
            ["object"] = "customer",
            ["address"] = null,
            ["balance"] = 0,
            ["created"] = Unix(created),
            ["currency"] = "usd",
            ["delinquent"] = false,
            ["description"] = null,
            ["email"] = email,
            ["invoice_prefix"] = id[^8..].ToUpperInvariant(),
            ["livemode"] = false,
            ["metadata"] = meta,
            ["name"] = email is null ? null : email.Split('@')[0],
        };
        Store(_customers, customer);
        if (emitEvent)
        {
            EmitEventLocked("customer.created", customer, null, created);
        }

        return id;
    }

    private string AddSubscriptionLocked(string customerId, string status, string priceId, long unitAmount, long quantity, DateTimeOffset created, bool emitEvent)
    {
        var id = NewId("sub");
        var periodStart = Unix(created);
        var periodEnd = Unix(created.AddMonths(1));
        var canceled = status is "canceled" or "incomplete_expired";
        var subscription = new JsonObject
        {
            ["id"] = id,
            ["object"] = "subscription",
            ["billing_cycle_anchor"] = periodStart,
            ["cancel_at"] = null,
            ["cancel_at_period_end"] = false,
            ["canceled_at"] = canceled ? periodStart + 3600 : null,
            ["cancellation_details"] = new JsonObject { ["comment"] = null, ["feedback"] = null, ["reason"] = canceled ? "cancellation_requested" : null },
            ["collection_method"] = "charge_automatically",
            ["created"] = periodStart,
            ["currency"] = "usd",
            ["customer"] = customerId,
            ["ended_at"] = canceled ? periodStart + 3600 : null,
            ["items"] = new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray(new JsonObject
                {
                    ["id"] = NewId("si"),
                    ["object"] = "subscription_item",
                    ["created"] = periodStart,
                    ["current_period_end"] = periodEnd,
                    ["current_period_start"] = periodStart,
                    ["metadata"] = new JsonObject(),
                    ["price"] = new JsonObject
                    {
                        ["id"] = priceId,
                        ["object"] = "price",
                        ["active"] = true,
                        ["currency"] = "usd",
                        ["product"] = "prod_fake_pro",
                        ["recurring"] = new JsonObject { ["interval"] = "month", ["interval_count"] = 1, ["usage_type"] = "licensed" },
                        ["type"] = "recurring",
                        ["unit_amount"] = unitAmount,
                        ["unit_amount_decimal"] = Text(unitAmount),
                    },
                    ["quantity"] = quantity,
                    ["subscription"] = id,
                }),
                ["has_more"] = false,
                ["total_count"] = 1,
                ["url"] = $"/v1/subscription_items?subscription={id}",
            },
            ["latest_invoice"] = null,
            ["livemode"] = false,
            ["metadata"] = new JsonObject(),
            ["pause_collection"] = null,
            ["start_date"] = periodStart,
            ["status"] = status,
            ["trial_end"] = null,
            ["trial_start"] = null,
        };
        Store(_subscriptions, subscription);
        if (emitEvent)
        {
            EmitEventLocked(canceled ? "customer.subscription.deleted" : "customer.subscription.created", subscription, null, created);
        }

        return id;
    }

    private string AddInvoiceLocked(string customerId, string? subscriptionId, string status, long amount, DateTimeOffset created, bool emitEvent)
    {
        var id = NewId("in");
        var at = Unix(created);
        var (paid, attempts, attempted) = status switch
        {
            "paid" => (amount, 1, true),
            "open" => (0L, 1, true),
            "uncollectible" => (0L, 4, true),
            "draft" or "void" => (0L, 0, false),
            _ => throw new ArgumentException($"'{status}' is not an invoice status.", nameof(status)),
        };
        var invoice = new JsonObject
        {
            ["id"] = id,
            ["object"] = "invoice",
            ["amount_due"] = amount,
            ["amount_paid"] = paid,
            ["amount_remaining"] = amount - paid,
            ["attempt_count"] = attempts,
            ["attempted"] = attempted,
            ["billing_reason"] = subscriptionId is null ? "manual" : "subscription_create",
            ["collection_method"] = "charge_automatically",
            ["created"] = at,
            ["currency"] = "usd",
            ["customer"] = customerId,
            ["due_date"] = null,
            ["livemode"] = false,
            ["next_payment_attempt"] = status == "open" ? at + (3 * 86_400) : null,
            ["parent"] = subscriptionId is null
                ? null
                : new JsonObject
                {
                    ["quote_details"] = null,
                    ["subscription_details"] = new JsonObject { ["metadata"] = new JsonObject(), ["subscription"] = subscriptionId },
                    ["type"] = "subscription_details",
                },
            ["period_end"] = at,
            ["period_start"] = at,
            ["status"] = status,
            ["status_transitions"] = new JsonObject
            {
                ["finalized_at"] = status == "draft" ? null : at,
                ["marked_uncollectible_at"] = status == "uncollectible" ? at + 600 : null,
                ["paid_at"] = status == "paid" ? at + 60 : null,
                ["voided_at"] = status == "void" ? at + 60 : null,
            },
            ["total"] = amount,
        };
        Store(_invoices, invoice);
        if (subscriptionId is not null && _objects.TryGetValue(subscriptionId, out var subscription))
        {
            subscription["latest_invoice"] = id;
        }

        if (emitEvent)
        {
            var type = status switch
            {
                "paid" => "invoice.paid",
                "open" => "invoice.payment_failed",
                "uncollectible" => "invoice.marked_uncollectible",
                "void" => "invoice.voided",
                _ => "invoice.created",
            };
            EmitEventLocked(type, invoice, null, created);
        }

        return id;
    }

    private JsonObject EmitEventLocked(string type, JsonObject dataObject, JsonObject? previousAttributes, DateTimeOffset? created)
    {
        // Events stay in creation order, so their times never run backwards.
        var at = Math.Max(Unix(created ?? Now), _lastEventCreated);
        _lastEventCreated = at;
        var data = new JsonObject { ["object"] = dataObject.DeepClone() };
        if (previousAttributes is not null)
        {
            data["previous_attributes"] = previousAttributes.DeepClone();
        }

        var stripeEvent = new JsonObject
        {
            ["id"] = NewId("evt"),
            ["object"] = "event",
            ["api_version"] = ApiVersion,
            ["created"] = at,
            ["data"] = data,
            ["livemode"] = false,
            ["pending_webhooks"] = 0,
            ["request"] = new JsonObject { ["id"] = null, ["idempotency_key"] = null },
            ["type"] = type,
        };
        Store(_events, stripeEvent);
        return stripeEvent;
    }

    private JsonObject CreateMeterLocked(string displayName, string eventName, string formula, string customerKey, string valueKey)
    {
        if (_meters.Any(m => m["event_name"]!.GetValue<string>() == eventName))
        {
            throw new StripeError(400, "invalid_request_error", $"An active meter with event_name '{eventName}' already exists.", "event_name");
        }

        var meter = new JsonObject
        {
            ["id"] = NewId("mtr"),
            ["object"] = "billing.meter",
            ["created"] = Unix(Now),
            ["customer_mapping"] = new JsonObject { ["event_payload_key"] = customerKey, ["type"] = "by_id" },
            ["default_aggregation"] = new JsonObject { ["formula"] = formula },
            ["display_name"] = displayName,
            ["event_name"] = eventName,
            ["event_time_window"] = null,
            ["livemode"] = false,
            ["status"] = "active",
            ["value_settings"] = new JsonObject { ["event_payload_key"] = valueKey },
        };
        Store(_meters, meter);
        return meter;
    }
}
