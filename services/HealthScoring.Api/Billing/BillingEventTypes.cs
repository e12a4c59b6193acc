using HealthScoring.EventStore;
using HealthScoring.Integrations.Stripe;

namespace HealthScoring.Api.Billing;

/// <summary>Stripe's billing facts as stored in the log, under stable names.</summary>
internal static class BillingEventTypes
{
    public static void Register(EventTypeRegistry registry) => registry
        .Register<SubscriptionStarted>("stripe.subscription_started")
        .Register<SubscriptionChanged>("stripe.subscription_changed")
        .Register<SubscriptionCanceled>("stripe.subscription_canceled")
        .Register<SubscriptionPaused>("stripe.subscription_paused")
        .Register<SubscriptionResumed>("stripe.subscription_resumed")
        .Register<TrialWillEnd>("stripe.trial_will_end")
        .Register<InvoicePaid>("stripe.invoice_paid")
        .Register<InvoicePaymentFailed>("stripe.invoice_payment_failed")
        .Register<InvoiceMarkedUncollectible>("stripe.invoice_marked_uncollectible")
        .Register<ChargeFailed>("stripe.charge_failed")
        .Register<DisputeCreated>("stripe.dispute_created")
        .Register<CustomerCreated>("stripe.customer_created")
        .Register<CustomerUpdated>("stripe.customer_updated")
        .Register<CustomerDeleted>("stripe.customer_deleted");
}
