namespace HealthScoring.Cli.Generate;

/// <summary>The draws the generator needs on top of <see cref="Random"/>, and seed derivation that does not depend on the process.</summary>
internal static class RandomExtensions
{
    /// <summary>A seed for one account's generator of one kind, from the run's seed (SplitMix64; not HashCode, which is salted per process).</summary>
    public static int DeriveSeed(int seed, int account, int stream)
    {
        var x = Mix(((ulong)(uint)seed << 32) ^ ((ulong)(uint)account * 0x9E3779B97F4A7C15UL) ^ ((ulong)(uint)stream << 56));
        return (int)(x & 0x7FFF_FFFF);
    }

    /// <summary>SplitMix64's finalizer.</summary>
    public static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }

    public static bool Chance(this Random random, double probability) => random.NextDouble() < probability;

    /// <summary>A whole number in [low, high]; <paramref name="low"/> when the range is empty.</summary>
    public static int Between(this Random random, int low, int high) => high <= low ? low : random.Next(low, high + 1);

    public static double Uniform(this Random random, double low, double high) => low + (random.NextDouble() * (high - low));

    public static T Pick<T>(this Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    /// <summary>An index drawn with the given (not necessarily normalized) weights.</summary>
    public static int Weighted(this Random random, ReadOnlySpan<double> weights)
    {
        var total = 0.0;
        foreach (var w in weights)
        {
            total += w;
        }

        var x = random.NextDouble() * total;
        for (var i = 0; i < weights.Length; i++)
        {
            x -= weights[i];
            if (x < 0)
            {
                return i;
            }
        }

        return weights.Length - 1;
    }

    /// <summary>Poisson by Knuth's method for small means, a rounded normal for large ones.</summary>
    public static int Poisson(this Random random, double mean)
    {
        if (mean <= 0)
        {
            return 0;
        }

        if (mean > 30)
        {
            return Math.Max(0, (int)Math.Round(mean + (Math.Sqrt(mean) * random.Normal())));
        }

        var limit = Math.Exp(-mean);
        var k = 0;
        var p = random.NextDouble();
        while (p > limit)
        {
            k++;
            p *= random.NextDouble();
        }

        return k;
    }

    /// <summary>A standard normal draw (Box-Muller).</summary>
    public static double Normal(this Random random)
    {
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    public static double Normal(this Random random, double mean, double deviation) => mean + (deviation * random.Normal());
}
