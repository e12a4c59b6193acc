using System.Text.Json;
using static HealthScoring.Integrations.Stripe.StripeJson;

namespace HealthScoring.Integrations.Stripe;

/// <summary>
/// Turns one Stripe event object (a webhook body, or one item of <c>GET /v1/events</c>) into a
/// <see cref="StripeEventParseResult"/>: a normalized <see cref="StripeBillingFact"/>, "ignored" for event types
/// health scoring does not use, or an error naming the offending field. Never throws for bad input.
/// Reads both the pre-Basil and the 2025-03-31.basil payload shapes. Stands in for Stripe.net's
/// <c>EventUtility.ParseEvent</c> and its typed event model.
/// </summary>
public static class StripeEventParser
{
    private const string ObjectPath = "data.object";
    private const string PreviousPath = "data.previous_attributes";

    /// <summary>The event types that produce a fact; everything else is <see cref="IgnoredStripeEvent"/>. At most 20, so usable as <c>types[]</c> on <c>GET /v1/events</c>.</summary>
    public static IReadOnlyList<string> HandledEventTypes { get; } =
    [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
        "customer.subscription.trial_will_end",
        "invoice.paid",
        "invoice.payment_succeeded",
        "invoice.payment_failed",
        "invoice.marked_uncollectible",
        "charge.failed",
        "charge.dispute.created",
        "customer.created",
        "customer.updated",
        "customer.deleted",
    ];

    public static StripeEventParseResult Parse(string? json)
    {
        if (string.IsNullOrWhiteSpace(json))
        {
            return Invalid(StripeEventErrorKind.InvalidJson, "$", "The text is empty.");
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return Parse(document.RootElement);
        }
        catch (JsonException ex)
        {
            return Invalid(StripeEventErrorKind.InvalidJson, "$", $"The text is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>Parses UTF-8 JSON, for example a webhook body after <see cref="StripeWebhookSignature.Verify"/>.</summary>
    public static StripeEventParseResult Parse(ReadOnlySpan<byte> utf8Json)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8Json);
            using var document = JsonDocument.ParseValue(ref reader);
            if (reader.Read())
            {
                return Invalid(StripeEventErrorKind.InvalidJson, "$", "The text is not valid JSON: there is content after the event object.");
            }

            return Parse(document.RootElement);
        }
        catch (JsonException ex)
        {
            return Invalid(StripeEventErrorKind.InvalidJson, "$", $"The text is not valid JSON: {ex.Message}");
        }
    }

    /// <summary>Parses an event already in a <see cref="JsonDocument"/>. The result does not reference the document.</summary>
    public static StripeEventParseResult Parse(JsonElement stripeEvent)
    {
        if (stripeEvent.ValueKind != JsonValueKind.Object)
        {
            return Invalid(StripeEventErrorKind.NotAnEvent, "$", "A Stripe event is a JSON object.");
        }

        StripeEventEnvelope envelope;
        JsonElement dataObject;
        JsonElement? previous;
        try
        {
            envelope = ReadEnvelope(stripeEvent, out dataObject, out previous);
        }
        catch (StripeShapeException ex)
        {
            return Invalid(ex.Kind, ex.Field, ex.Message);
        }

        try
        {
            var fact = ReadFact(envelope, dataObject, previous);
            return fact is null ? new IgnoredStripeEvent(envelope) : new ParsedStripeEvent(envelope, fact);
        }
        catch (StripeShapeException ex)
        {
            return new InvalidStripeEvent(new StripeEventParseError(ex.Kind, ex.Field, ex.Message), envelope);
        }
    }

    private static InvalidStripeEvent Invalid(StripeEventErrorKind kind, string field, string message) =>
        new(new StripeEventParseError(kind, field, message));

    private static StripeEventEnvelope ReadEnvelope(JsonElement root, out JsonElement dataObject, out JsonElement? previous)
    {
        var objectType = OptionalString(root, "object", "");
        if (objectType is not null && objectType != "event")
        {
            var message = objectType switch
            {
                "list" => "This is a list page (object=list), not an event; parse each item of its 'data'.",
                _ when objectType.StartsWith("v2.", StringComparison.Ordinal) =>
                    $"This is a thin event notification (object={objectType}); fetch the event it points to instead.",
                _ => $"'object' is '{objectType}', not 'event'.",
            };
            throw new StripeShapeException(StripeEventErrorKind.NotAnEvent, "object", message);
        }

        var id = RequiredString(root, "id", "");
        var type = RequiredString(root, "type", "");
        var created = RequiredUnixTime(root, "created", "");
        var livemode = OptionalBool(root, "livemode", "") ?? false;
        var apiVersion = OptionalString(root, "api_version", "");
        var data = RequiredObject(root, "data", "");
        dataObject = RequiredObject(data, "object", "data");
        previous = OptionalObject(data, "previous_attributes", "data");

        return new StripeEventEnvelope
        {
            Id = id,
            Type = type,
            Created = created,
            Livemode = livemode,
            ApiVersion = apiVersion,
            ObjectJson = dataObject.GetRawText(),
            PreviousAttributesJson = previous?.GetRawText(),
        };
    }

    private static StripeBillingFact? ReadFact(StripeEventEnvelope envelope, JsonElement obj, JsonElement? previous)
    {
        if (ExpectedObjectType(envelope.Type) is { } expected)
        {
            ExpectObjectType(obj, expected);
        }

        return ReadFactOfType(envelope, obj, previous);
    }

    private static string? ExpectedObjectType(string eventType) => eventType switch
    {
        _ when !HandledEventTypes.Contains(eventType) => null,
        _ when eventType.StartsWith("customer.subscription.", StringComparison.Ordinal) => "subscription",
        _ when eventType.StartsWith("invoice.", StringComparison.Ordinal) => "invoice",
        "charge.failed" => "charge",
        "charge.dispute.created" => "dispute",
        _ => "customer",
    };

    private static StripeBillingFact? ReadFactOfType(StripeEventEnvelope envelope, JsonElement obj, JsonElement? previous) => envelope.Type switch
    {
        "customer.subscription.created" => ReadSubscriptionFact(envelope, obj, previous),
        "customer.subscription.updated" => ReadSubscriptionFact(envelope, obj, previous),
        "customer.subscription.deleted" => ReadSubscriptionFact(envelope, obj, previous),
        "customer.subscription.paused" => ReadSubscriptionFact(envelope, obj, previous),
        "customer.subscription.resumed" => ReadSubscriptionFact(envelope, obj, previous),
        "customer.subscription.trial_will_end" => ReadSubscriptionFact(envelope, obj, previous),
        "invoice.paid" or "invoice.payment_succeeded" => ReadInvoicePaid(envelope, obj),
        "invoice.payment_failed" => ReadInvoicePaymentFailed(envelope, obj),
        "invoice.marked_uncollectible" => ReadInvoiceMarkedUncollectible(envelope, obj),
        "charge.failed" => ReadChargeFailed(envelope, obj),
        "charge.dispute.created" => ReadDisputeCreated(envelope, obj),
        "customer.created" or "customer.updated" or "customer.deleted" => ReadCustomerFact(envelope, obj, previous),
        _ => null,
    };

    private static void ExpectObjectType(JsonElement obj, string expected)
    {
        var actual = OptionalString(obj, "object", ObjectPath);
        if (actual is not null && actual != expected)
        {
            throw new StripeShapeException(
                StripeEventErrorKind.InvalidField,
                $"{ObjectPath}.object",
                $"'{ObjectPath}.object' is '{actual}' but this event type carries a '{expected}'.");
        }
    }

    // ---- Subscriptions ---------------------------------------------------------------------------------------

    private static StripeSubscriptionFact ReadSubscriptionFact(StripeEventEnvelope envelope, JsonElement obj, JsonElement? previous)
    {
        var subscription = ReadSubscription(obj, ObjectPath, out var customerId, out var customerMetadata);

        StripeSubscriptionFact fact = envelope.Type switch
        {
            "customer.subscription.created" => new SubscriptionStarted
            {
                EventId = envelope.Id, CustomerId = customerId, OccurredAt = envelope.Created, Subscription = subscription,
            },
            "customer.subscription.deleted" => ReadCanceled(envelope, obj, customerId, subscription),
            "customer.subscription.updated" when subscription.Status == "canceled" => ReadCanceled(envelope, obj, customerId, subscription),
            "customer.subscription.updated" => new SubscriptionChanged
            {
                EventId = envelope.Id,
                CustomerId = customerId,
                OccurredAt = envelope.Created,
                Subscription = subscription,
                ChangedFields = previous is { } p ? [.. p.EnumerateObject().Select(property => property.Name)] : [],
                Previous = ReadPrevious(previous, subscription),
            },
            "customer.subscription.paused" => new SubscriptionPaused
            {
                EventId = envelope.Id, CustomerId = customerId, OccurredAt = envelope.Created, Subscription = subscription,
            },
            "customer.subscription.resumed" => new SubscriptionResumed
            {
                EventId = envelope.Id, CustomerId = customerId, OccurredAt = envelope.Created, Subscription = subscription,
            },
            _ => new TrialWillEnd
            {
                EventId = envelope.Id, CustomerId = customerId, OccurredAt = envelope.Created, Subscription = subscription,
                TrialEnd = subscription.TrialEnd,
            },
        };

        return fact with { CustomerMetadata = customerMetadata };
    }

    private static SubscriptionCanceled ReadCanceled(StripeEventEnvelope envelope, JsonElement obj, string customerId, StripeSubscriptionSnapshot subscription)
    {
        var details = OptionalObject(obj, "cancellation_details", ObjectPath);
        var detailsPath = $"{ObjectPath}.cancellation_details";
        return new SubscriptionCanceled
        {
            EventId = envelope.Id,
            CustomerId = customerId,
            OccurredAt = envelope.Created,
            Subscription = subscription,
            CancellationReason = details is { } d ? OptionalString(d, "reason", detailsPath) : null,
            CancellationFeedback = details is { } f ? OptionalString(f, "feedback", detailsPath) : null,
        };
    }

    private static StripeSubscriptionSnapshot ReadSubscription(
        JsonElement sub,
        string path,
        out string customerId,
        out IReadOnlyDictionary<string, string>? customerMetadata)
    {
        var subscriptionId = RequiredString(sub, "id", path);
        customerId = OptionalId(sub, "customer", path, out var expandedCustomer) ?? throw Missing(Join(path, "customer"));
        customerMetadata = expandedCustomer is { } customer ? Metadata(customer, Join(path, "customer")) : null;

        var itemsList = RequiredObject(sub, "items", path);
        var items = ReadItems(itemsList, Join(path, "items"));
        var hasMore = OptionalBool(itemsList, "has_more", Join(path, "items")) ?? false;

        // Before Basil the period is on the subscription; since Basil only on each item.
        var periodStart = OptionalUnixTime(sub, "current_period_start", path);
        var periodEnd = OptionalUnixTime(sub, "current_period_end", path);
        if (periodStart is null && periodEnd is null && EarliestEndingItem(items) is { } first)
        {
            periodStart = first.CurrentPeriodStart;
            periodEnd = first.CurrentPeriodEnd;
        }

        var pause = OptionalObject(sub, "pause_collection", path);
        var pausePath = Join(path, "pause_collection");
        return new StripeSubscriptionSnapshot
        {
            SubscriptionId = subscriptionId,
            Status = RequiredString(sub, "status", path),
            Currency = OptionalString(sub, "currency", path) ?? items.Select(i => i.Currency).FirstOrDefault(c => c is not null),
            Items = items,
            ItemsComplete = !hasMore,
            CurrentPeriodStart = periodStart,
            CurrentPeriodEnd = periodEnd,
            CancelAtPeriodEnd = OptionalBool(sub, "cancel_at_period_end", path) ?? false,
            CancelAt = OptionalUnixTime(sub, "cancel_at", path),
            CanceledAt = OptionalUnixTime(sub, "canceled_at", path),
            EndedAt = OptionalUnixTime(sub, "ended_at", path),
            TrialStart = OptionalUnixTime(sub, "trial_start", path),
            TrialEnd = OptionalUnixTime(sub, "trial_end", path),
            PauseCollectionBehavior = pause is { } pc ? OptionalString(pc, "behavior", pausePath) : null,
            PauseCollectionResumesAt = pause is { } pr ? OptionalUnixTime(pr, "resumes_at", pausePath) : null,
        };
    }

    private static StripeSubscriptionItemSnapshot? EarliestEndingItem(IReadOnlyList<StripeSubscriptionItemSnapshot> items) =>
        items.Where(i => i.CurrentPeriodEnd is not null).MinBy(i => i.CurrentPeriodEnd);

    private static List<StripeSubscriptionItemSnapshot> ReadItems(JsonElement list, string path)
    {
        var dataPath = Join(path, "data");
        if (!TryGet(list, "data", out var data))
        {
            throw Missing(dataPath);
        }

        if (data.ValueKind != JsonValueKind.Array)
        {
            throw WrongKind(dataPath, "an array", data);
        }

        var items = new List<StripeSubscriptionItemSnapshot>(data.GetArrayLength());
        var index = 0;
        foreach (var item in data.EnumerateArray())
        {
            var itemPath = $"{dataPath}[{index++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw WrongKind(itemPath, "an object", item);
            }

            items.Add(ReadItem(item, itemPath));
        }

        return items;
    }

    private static StripeSubscriptionItemSnapshot ReadItem(JsonElement item, string path)
    {
        var priceId = OptionalId(item, "price", path, out var price);
        var plan = OptionalObject(item, "plan", path);
        var terms = price is { } p
            ? ReadPriceTerms(p, Join(path, "price"), isPlan: false)
            : plan is { } legacy ? ReadPriceTerms(legacy, Join(path, "plan"), isPlan: true) : new StripeSubscriptionItemSnapshot();

        return terms with
        {
            ItemId = OptionalString(item, "id", path),
            PriceId = priceId ?? terms.PriceId,
            Quantity = OptionalInt64(item, "quantity", path),
            CurrentPeriodStart = OptionalUnixTime(item, "current_period_start", path),
            CurrentPeriodEnd = OptionalUnixTime(item, "current_period_end", path),
        };
    }

    /// <summary>Reads a Price, or a legacy Plan (which keeps the amount and interval at its top level).</summary>
    private static StripeSubscriptionItemSnapshot ReadPriceTerms(JsonElement price, string path, bool isPlan)
    {
        string? interval;
        long? intervalCount;
        string? usageType;
        JsonElement? transform;
        decimal? unitAmount;
        string transformPath;
        if (isPlan)
        {
            unitAmount = OptionalInt64(price, "amount", path) ?? OptionalDecimalString(price, "amount_decimal", path);
            interval = OptionalString(price, "interval", path);
            intervalCount = OptionalInt64(price, "interval_count", path);
            usageType = OptionalString(price, "usage_type", path);
            transform = OptionalObject(price, "transform_usage", path);
            transformPath = Join(path, "transform_usage");
        }
        else
        {
            unitAmount = OptionalInt64(price, "unit_amount", path) ?? OptionalDecimalString(price, "unit_amount_decimal", path);
            var recurring = OptionalObject(price, "recurring", path);
            var recurringPath = Join(path, "recurring");
            interval = recurring is { } r1 ? OptionalString(r1, "interval", recurringPath) : null;
            intervalCount = recurring is { } r2 ? OptionalInt64(r2, "interval_count", recurringPath) : null;
            usageType = recurring is { } r3 ? OptionalString(r3, "usage_type", recurringPath) : null;
            transform = OptionalObject(price, "transform_quantity", path);
            transformPath = Join(path, "transform_quantity");
        }

        return new StripeSubscriptionItemSnapshot
        {
            PriceId = RequiredString(price, "id", path),
            ProductId = OptionalId(price, "product", path),
            Currency = OptionalString(price, "currency", path),
            UnitAmountMinor = unitAmount,
            Interval = interval,
            IntervalCount = intervalCount ?? 1,
            UsageType = usageType,
            DivideBy = transform is { } t1 ? OptionalInt64(t1, "divide_by", transformPath) : null,
            Round = transform is { } t2 ? OptionalString(t2, "round", transformPath) : null,
        };
    }

    private static StripeSubscriptionPreviousValues ReadPrevious(JsonElement? previous, StripeSubscriptionSnapshot current)
    {
        if (previous is not { } prev)
        {
            return StripeSubscriptionPreviousValues.None;
        }

        var values = new StripeSubscriptionPreviousValues
        {
            Status = OptionalString(prev, "status", PreviousPath),
            CancelAtPeriodEnd = OptionalBool(prev, "cancel_at_period_end", PreviousPath),
            CurrentPeriodEnd = OptionalUnixTime(prev, "current_period_end", PreviousPath),
        };

        // previous_attributes.items carries the whole earlier item list (not only the changed fields).
        if (OptionalObject(prev, "items", PreviousPath) is { } previousItems)
        {
            var items = ReadItems(previousItems, $"{PreviousPath}.items");
            var asSnapshot = current with { Items = items, ItemsComplete = true };
            return values with
            {
                Items = items,
                PriceIds = asSnapshot.PriceIds,
                Quantity = asSnapshot.Quantity,
                MonthlyRecurringRevenueMinor = asSnapshot.MonthlyRecurringRevenueMinor,
                CurrentPeriodEnd = values.CurrentPeriodEnd ?? EarliestEndingItem(items)?.CurrentPeriodEnd,
            };
        }

        // Older payloads may carry only the single-item shortcuts: top-level quantity and plan.
        var previousQuantity = OptionalInt64(prev, "quantity", PreviousPath);
        var previousPlan = OptionalObject(prev, "plan", PreviousPath);
        if (previousQuantity is null && previousPlan is null)
        {
            return values;
        }

        values = values with
        {
            Quantity = previousQuantity,
            PriceIds = previousPlan is { } plan ? [RequiredString(plan, "id", $"{PreviousPath}.plan")] : null,
        };
        if (current.Items.Count != 1)
        {
            return values;
        }

        var now = current.Items[0];
        var before = previousPlan is { } p ? ReadPriceTerms(p, $"{PreviousPath}.plan", isPlan: true) with { ItemId = now.ItemId } : now;
        before = before with { Quantity = previousQuantity ?? now.Quantity };
        var previousSnapshot = current with { Items = [before] };
        return values with
        {
            Quantity = previousSnapshot.Quantity,
            MonthlyRecurringRevenueMinor = previousSnapshot.MonthlyRecurringRevenueMinor,
        };
    }

    // ---- Invoices --------------------------------------------------------------------------------------------

    private static InvoicePaid ReadInvoicePaid(StripeEventEnvelope envelope, JsonElement obj)
    {
        var common = ReadInvoiceCommon(obj);
        var statusTransitions = OptionalObject(obj, "status_transitions", ObjectPath);
        return new InvoicePaid
        {
            EventId = envelope.Id,
            CustomerId = common.CustomerId,
            OccurredAt = envelope.Created,
            CustomerMetadata = common.CustomerMetadata,
            InvoiceId = common.InvoiceId,
            SubscriptionId = common.SubscriptionId,
            Currency = common.Currency,
            BillingReason = common.BillingReason,
            AmountPaidMinor = RequiredInt64(obj, "amount_paid", ObjectPath),
            PaidAt = statusTransitions is { } st ? OptionalUnixTime(st, "paid_at", $"{ObjectPath}.status_transitions") : null,
        };
    }

    private static InvoicePaymentFailed ReadInvoicePaymentFailed(StripeEventEnvelope envelope, JsonElement obj)
    {
        var common = ReadInvoiceCommon(obj);
        return new InvoicePaymentFailed
        {
            EventId = envelope.Id,
            CustomerId = common.CustomerId,
            OccurredAt = envelope.Created,
            CustomerMetadata = common.CustomerMetadata,
            InvoiceId = common.InvoiceId,
            SubscriptionId = common.SubscriptionId,
            Currency = common.Currency,
            BillingReason = common.BillingReason,
            AmountDueMinor = RequiredInt64(obj, "amount_due", ObjectPath),
            AttemptCount = RequiredInt64(obj, "attempt_count", ObjectPath),
            NextPaymentAttempt = OptionalUnixTime(obj, "next_payment_attempt", ObjectPath),
        };
    }

    private static InvoiceMarkedUncollectible ReadInvoiceMarkedUncollectible(StripeEventEnvelope envelope, JsonElement obj)
    {
        var common = ReadInvoiceCommon(obj);
        return new InvoiceMarkedUncollectible
        {
            EventId = envelope.Id,
            CustomerId = common.CustomerId,
            OccurredAt = envelope.Created,
            CustomerMetadata = common.CustomerMetadata,
            InvoiceId = common.InvoiceId,
            SubscriptionId = common.SubscriptionId,
            Currency = common.Currency,
            BillingReason = common.BillingReason,
            AmountDueMinor = RequiredInt64(obj, "amount_due", ObjectPath),
            AmountRemainingMinor = RequiredInt64(obj, "amount_remaining", ObjectPath),
        };
    }

    private readonly record struct InvoiceCommon(
        string InvoiceId,
        string CustomerId,
        IReadOnlyDictionary<string, string>? CustomerMetadata,
        string? SubscriptionId,
        string Currency,
        string? BillingReason);

    private static InvoiceCommon ReadInvoiceCommon(JsonElement invoice)
    {
        var invoiceId = RequiredString(invoice, "id", ObjectPath);
        var customerId = OptionalId(invoice, "customer", ObjectPath, out var expandedCustomer) ?? throw Missing($"{ObjectPath}.customer");
        return new InvoiceCommon(
            invoiceId,
            customerId,
            expandedCustomer is { } c ? Metadata(c, $"{ObjectPath}.customer") : null,
            InvoiceSubscriptionId(invoice),
            RequiredString(invoice, "currency", ObjectPath),
            OptionalString(invoice, "billing_reason", ObjectPath));
    }

    /// <summary>
    /// Pre-Basil: <c>invoice.subscription</c>. Basil: <c>invoice.parent.subscription_details.subscription</c>.
    /// Falls back to the line items (<c>lines.data[].parent.subscription_item_details.subscription</c> or the
    /// older <c>lines.data[].subscription</c>).
    /// </summary>
    private static string? InvoiceSubscriptionId(JsonElement invoice)
    {
        var direct = OptionalId(invoice, "subscription", ObjectPath);
        if (direct is not null)
        {
            return direct;
        }

        var parentPath = $"{ObjectPath}.parent";
        if (OptionalObject(invoice, "parent", ObjectPath) is { } parent
            && OptionalObject(parent, "subscription_details", parentPath) is { } details
            && OptionalId(details, "subscription", $"{parentPath}.subscription_details") is { } fromParent)
        {
            return fromParent;
        }

        if (OptionalObject(invoice, "lines", ObjectPath) is not { } lines
            || !TryGet(lines, "data", out var data)
            || data.ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var index = 0;
        foreach (var line in data.EnumerateArray())
        {
            var linePath = $"{ObjectPath}.lines.data[{index++}]";
            if (line.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            if (OptionalObject(line, "parent", linePath) is { } lineParent
                && OptionalObject(lineParent, "subscription_item_details", $"{linePath}.parent") is { } itemDetails
                && OptionalId(itemDetails, "subscription", $"{linePath}.parent.subscription_item_details") is { } fromLineParent)
            {
                return fromLineParent;
            }

            if (OptionalId(line, "subscription", linePath) is { } fromLine)
            {
                return fromLine;
            }
        }

        return null;
    }

    // ---- Payments --------------------------------------------------------------------------------------------

    private static ChargeFailed ReadChargeFailed(StripeEventEnvelope envelope, JsonElement charge)
    {
        var outcome = OptionalObject(charge, "outcome", ObjectPath);
        var outcomePath = $"{ObjectPath}.outcome";
        var customerId = OptionalId(charge, "customer", ObjectPath, out var expandedCustomer);
        return new ChargeFailed
        {
            EventId = envelope.Id,
            CustomerId = customerId,
            OccurredAt = envelope.Created,
            CustomerMetadata = expandedCustomer is { } c ? Metadata(c, $"{ObjectPath}.customer") : null,
            ChargeId = RequiredString(charge, "id", ObjectPath),
            AmountMinor = RequiredInt64(charge, "amount", ObjectPath),
            Currency = RequiredString(charge, "currency", ObjectPath),
            FailureCode = OptionalString(charge, "failure_code", ObjectPath),
            FailureMessage = OptionalString(charge, "failure_message", ObjectPath),
            OutcomeType = outcome is { } o1 ? OptionalString(o1, "type", outcomePath) : null,
            OutcomeReason = outcome is { } o2 ? OptionalString(o2, "reason", outcomePath) : null,
            PaymentIntentId = OptionalId(charge, "payment_intent", ObjectPath),
            InvoiceId = OptionalId(charge, "invoice", ObjectPath),
        };
    }

    private static DisputeCreated ReadDisputeCreated(StripeEventEnvelope envelope, JsonElement dispute)
    {
        var chargeId = OptionalId(dispute, "charge", ObjectPath, out var expandedCharge) ?? throw Missing($"{ObjectPath}.charge");
        string? customerId = null;
        IReadOnlyDictionary<string, string>? customerMetadata = null;
        if (expandedCharge is { } charge)
        {
            customerId = OptionalId(charge, "customer", $"{ObjectPath}.charge", out var expandedCustomer);
            customerMetadata = expandedCustomer is { } c ? Metadata(c, $"{ObjectPath}.charge.customer") : null;
        }

        return new DisputeCreated
        {
            EventId = envelope.Id,
            CustomerId = customerId,
            OccurredAt = envelope.Created,
            CustomerMetadata = customerMetadata,
            DisputeId = RequiredString(dispute, "id", ObjectPath),
            ChargeId = chargeId,
            PaymentIntentId = OptionalId(dispute, "payment_intent", ObjectPath),
            AmountMinor = RequiredInt64(dispute, "amount", ObjectPath),
            Currency = RequiredString(dispute, "currency", ObjectPath),
            Reason = RequiredString(dispute, "reason", ObjectPath),
            Status = OptionalString(dispute, "status", ObjectPath),
        };
    }

    // ---- Customers -------------------------------------------------------------------------------------------

    private static StripeCustomerFact ReadCustomerFact(StripeEventEnvelope envelope, JsonElement customer, JsonElement? previous)
    {
        var customerId = RequiredString(customer, "id", ObjectPath);
        var metadata = Metadata(customer, ObjectPath);
        var hasEmail = !string.IsNullOrWhiteSpace(OptionalString(customer, "email", ObjectPath));
        var delinquent = OptionalBool(customer, "delinquent", ObjectPath);

        return envelope.Type switch
        {
            "customer.created" => new CustomerCreated
            {
                EventId = envelope.Id, CustomerId = customerId, OccurredAt = envelope.Created, CustomerMetadata = metadata,
                Metadata = metadata, HasEmail = hasEmail, Delinquent = delinquent,
            },
            "customer.updated" => new CustomerUpdated
            {
                EventId = envelope.Id, CustomerId = customerId, OccurredAt = envelope.Created, CustomerMetadata = metadata,
                Metadata = metadata, HasEmail = hasEmail, Delinquent = delinquent,
                ChangedFields = previous is { } p ? [.. p.EnumerateObject().Select(property => property.Name)] : [],
                PreviousMetadata = previous is { } pm ? ReadPreviousMetadata(pm) : null,
            },
            _ => new CustomerDeleted
            {
                EventId = envelope.Id, CustomerId = customerId, OccurredAt = envelope.Created, CustomerMetadata = metadata,
                Metadata = metadata, HasEmail = hasEmail, Delinquent = delinquent,
            },
        };
    }

    private static Dictionary<string, string?>? ReadPreviousMetadata(JsonElement previous)
    {
        if (!previous.TryGetProperty("metadata", out var metadata))
        {
            return null;
        }

        var field = $"{PreviousPath}.metadata";
        if (metadata.ValueKind == JsonValueKind.Null)
        {
            return new Dictionary<string, string?>(StringComparer.Ordinal);
        }

        if (metadata.ValueKind != JsonValueKind.Object)
        {
            throw WrongKind(field, "an object", metadata);
        }

        var result = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var entry in metadata.EnumerateObject())
        {
            result[entry.Name] = entry.Value.ValueKind switch
            {
                JsonValueKind.String => entry.Value.GetString(),
                JsonValueKind.Null => null,
                _ => throw WrongKind($"{field}.{entry.Name}", "a string or null", entry.Value),
            };
        }

        return result;
    }
}
