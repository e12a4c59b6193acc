namespace HealthScoring.Cli.Generate;

/// <summary>Stripe-looking ids (<c>cus_…</c>, <c>sub_…</c>, <c>evt_…</c>), derived from the seed, the account and a counter.</summary>
internal sealed class StripeIds(int seed, int account)
{
    private const string Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    public string Customer => "cus_" + Text(1, 0, 14);

    public string Subscription => "sub_1" + Text(2, 0, 23);

    public string Item => "si_" + Text(3, 0, 14);

    public string InvoicePrefix => Text(4, 0, 8, hex: true);

    public string Invoice(int number) => "in_1" + Text(5, number, 23);

    public string Line(int number) => "il_1" + Text(6, number, 23);

    public string Event(int number) => "evt_1" + Text(7, number, 23);

    private string Text(int kind, int number, int length, bool hex = false)
    {
        var state = RandomExtensions.Mix(((ulong)(uint)seed << 32) | (uint)account) ^ RandomExtensions.Mix(((ulong)(uint)kind << 32) | (uint)number);
        return string.Create(length, state, (span, s) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                s = RandomExtensions.Mix(s);
                span[i] = hex ? Alphabet[(int)(s % 16)] : Alphabet[(int)(s % (ulong)Alphabet.Length)];
            }
        });
    }
}
