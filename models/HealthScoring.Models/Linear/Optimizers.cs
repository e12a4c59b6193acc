namespace HealthScoring.Models.Linear;

/// <summary>How an optimiser run ended.</summary>
internal readonly record struct OptimizerResult(double[] Solution, double Value, double GradientNorm, int Iterations, bool Converged);

/// <summary>
/// Deterministic minimisers of a smooth convex objective: damped Newton (Cholesky solve, Armijo backtracking) and
/// L-BFGS (two-loop recursion, Armijo backtracking). Both stop when the largest absolute gradient component falls
/// to the tolerance, or after the iteration limit, or when a line search can no longer decrease the objective.
/// </summary>
internal static class Optimizers
{
    private const double Armijo = 1e-4;
    private const double MinStep = 1e-12;

    public static OptimizerResult Newton(LogisticObjective f, double[] start, int maxIterations, double tolerance, Action<double>? progress, CancellationToken cancellationToken)
    {
        var d = f.Dimension;
        var beta = (double[])start.Clone();
        var gradient = new double[d];
        var hessian = new double[d * d];
        var trial = new double[d];
        var value = f.Evaluate(beta, gradient, hessian);
        var initialNorm = MaxAbs(gradient);
        var iterations = 0;
        while (true)
        {
            var norm = MaxAbs(gradient);
            progress?.Invoke(Fraction(initialNorm, norm, tolerance));
            if (norm <= tolerance)
            {
                return new OptimizerResult(beta, value, norm, iterations, true);
            }

            if (iterations >= maxIterations)
            {
                return new OptimizerResult(beta, value, norm, iterations, false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            iterations++;
            var step = SolveNewtonStep(hessian, gradient, d);
            var slope = Dot(gradient, step);
            if (slope >= 0)
            {
                // Only rounding can make the Newton direction non-descending here; fall back to steepest descent.
                for (var j = 0; j < d; j++)
                {
                    step[j] = -gradient[j];
                }

                slope = -Dot(gradient, gradient);
            }

            var t = 1.0;
            double trialValue;
            while (true)
            {
                for (var j = 0; j < d; j++)
                {
                    trial[j] = beta[j] + (t * step[j]);
                }

                trialValue = f.Evaluate(trial, null, null);
                if (trialValue <= value + (Armijo * t * slope))
                {
                    break;
                }

                t *= 0.5;
                if (t < MinStep)
                {
                    return new OptimizerResult(beta, value, norm, iterations, false);
                }
            }

            (beta, trial) = (trial, beta);
            value = f.Evaluate(beta, gradient, hessian);
        }
    }

    public static OptimizerResult Lbfgs(LogisticObjective f, double[] start, int maxIterations, double tolerance, Action<double>? progress, CancellationToken cancellationToken, int memory = 10)
    {
        var d = f.Dimension;
        var beta = (double[])start.Clone();
        var gradient = new double[d];
        var trial = new double[d];
        var trialGradient = new double[d];
        var direction = new double[d];
        var s = new double[memory][];
        var y = new double[memory][];
        var rho = new double[memory];
        var alpha = new double[memory];
        var stored = 0;
        var newest = -1;
        var value = f.Evaluate(beta, gradient, null);
        var initialNorm = MaxAbs(gradient);
        var iterations = 0;
        while (true)
        {
            var norm = MaxAbs(gradient);
            progress?.Invoke(Fraction(initialNorm, norm, tolerance));
            if (norm <= tolerance)
            {
                return new OptimizerResult(beta, value, norm, iterations, true);
            }

            if (iterations >= maxIterations)
            {
                return new OptimizerResult(beta, value, norm, iterations, false);
            }

            cancellationToken.ThrowIfCancellationRequested();
            iterations++;

            // Two-loop recursion: direction = -H·gradient with H the L-BFGS inverse-Hessian estimate.
            for (var j = 0; j < d; j++)
            {
                direction[j] = -gradient[j];
            }

            for (var m = 0; m < stored; m++)
            {
                var k = (newest - m + memory) % memory;
                alpha[k] = rho[k] * Dot(s[k], direction);
                Axpy(-alpha[k], y[k], direction);
            }

            var gamma = stored > 0 ? Dot(s[newest], y[newest]) / Dot(y[newest], y[newest]) : 1.0 / Math.Max(1.0, Math.Sqrt(Dot(gradient, gradient)));
            for (var j = 0; j < d; j++)
            {
                direction[j] *= gamma;
            }

            for (var m = stored - 1; m >= 0; m--)
            {
                var k = (newest - m + memory) % memory;
                var b = rho[k] * Dot(y[k], direction);
                Axpy(alpha[k] - b, s[k], direction);
            }

            var slope = Dot(gradient, direction);
            if (slope >= 0)
            {
                for (var j = 0; j < d; j++)
                {
                    direction[j] = -gradient[j];
                }

                slope = -Dot(gradient, gradient);
                stored = 0;
            }

            var t = 1.0;
            double trialValue;
            while (true)
            {
                for (var j = 0; j < d; j++)
                {
                    trial[j] = beta[j] + (t * direction[j]);
                }

                trialValue = f.Evaluate(trial, trialGradient, null);
                if (trialValue <= value + (Armijo * t * slope))
                {
                    break;
                }

                t *= 0.5;
                if (t < MinStep)
                {
                    return new OptimizerResult(beta, value, norm, iterations, false);
                }
            }

            var next = (newest + 1) % memory;
            s[next] ??= new double[d];
            y[next] ??= new double[d];
            for (var j = 0; j < d; j++)
            {
                s[next][j] = trial[j] - beta[j];
                y[next][j] = trialGradient[j] - gradient[j];
            }

            var sy = Dot(s[next], y[next]);
            if (sy > 1e-16 * Math.Sqrt(Dot(s[next], s[next]) * Dot(y[next], y[next])) && sy > 0)
            {
                rho[next] = 1.0 / sy;
                newest = next;
                stored = Math.Min(stored + 1, memory);
            }

            (beta, trial) = (trial, beta);
            (gradient, trialGradient) = (trialGradient, gradient);
            value = trialValue;
        }
    }

    /// <summary>Solves H·step = −g by Cholesky; a tiny growing ridge keeps it solvable when H is near-singular.</summary>
    private static double[] SolveNewtonStep(double[] hessian, double[] gradient, int d)
    {
        var scale = 0.0;
        for (var j = 0; j < d; j++)
        {
            scale = Math.Max(scale, hessian[(j * d) + j]);
        }

        var ridge = 0.0;
        var l = new double[d * d];
        for (var attempt = 0; attempt < 30; attempt++)
        {
            if (TryCholesky(hessian, d, ridge, l))
            {
                var step = new double[d];
                for (var j = 0; j < d; j++)
                {
                    step[j] = -gradient[j];
                }

                // Forward then backward substitution with L and Lᵀ.
                for (var i = 0; i < d; i++)
                {
                    var sum = step[i];
                    for (var k = 0; k < i; k++)
                    {
                        sum -= l[(i * d) + k] * step[k];
                    }

                    step[i] = sum / l[(i * d) + i];
                }

                for (var i = d - 1; i >= 0; i--)
                {
                    var sum = step[i];
                    for (var k = i + 1; k < d; k++)
                    {
                        sum -= l[(k * d) + i] * step[k];
                    }

                    step[i] = sum / l[(i * d) + i];
                }

                return step;
            }

            ridge = ridge == 0 ? Math.Max(scale, 1e-300) * 1e-12 : ridge * 10;
        }

        throw new InvalidOperationException("The Newton system could not be solved (the Hessian is not positive definite).");
    }

    private static bool TryCholesky(double[] a, int d, double ridge, double[] l)
    {
        Array.Clear(l);
        for (var i = 0; i < d; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = a[(i * d) + j] + (i == j ? ridge : 0);
                for (var k = 0; k < j; k++)
                {
                    sum -= l[(i * d) + k] * l[(j * d) + k];
                }

                if (i == j)
                {
                    if (!(sum > 0) || !double.IsFinite(sum))
                    {
                        return false;
                    }

                    l[(i * d) + i] = Math.Sqrt(sum);
                }
                else
                {
                    l[(i * d) + j] = sum / l[(j * d) + j];
                }
            }
        }

        return true;
    }

    /// <summary>Progress as the share of the way, in log scale, from the first gradient norm to the tolerance.</summary>
    private static double Fraction(double initial, double current, double tolerance)
    {
        if (current <= tolerance || initial <= tolerance)
        {
            return 1.0;
        }

        var done = Math.Log(initial / current) / Math.Log(initial / tolerance);
        return Math.Clamp(done, 0.0, 0.99);
    }

    private static double MaxAbs(double[] v)
    {
        var m = 0.0;
        foreach (var x in v)
        {
            m = Math.Max(m, Math.Abs(x));
        }

        return m;
    }

    private static double Dot(double[] a, double[] b)
    {
        var sum = 0.0;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }

    private static void Axpy(double a, double[] x, double[] y)
    {
        for (var i = 0; i < y.Length; i++)
        {
            y[i] += a * x[i];
        }
    }
}
