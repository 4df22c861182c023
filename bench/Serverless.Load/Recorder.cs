// Collects what the load did: latencies per operation, business outcomes, errors by kind, and the order
// ids the clients were told about (to prove later that none was lost).
using Tuki.Pool.Backend.Data;

namespace Tuki.Pool.Bench.ServerlessLoad;

public sealed class Recorder
{
    readonly object _gate = new();
    readonly List<double> _listMs = [];
    readonly List<double> _checkoutMs = [];
    readonly List<double> _allMs = [];
    readonly Dictionary<string, int> _errors = [];

    public List<long> ConfirmedOrderIds { get; } = [];
    public long TicketsConfirmed { get; private set; }
    public int SoldOutAnswers { get; private set; }
    public int UnknownAnswers { get; private set; }
    public int ShedCount { get; private set; }
    public int ErrorCount { get; private set; }
    public double LoadSeconds { get; set; }
    public double WallSeconds { get; set; }
    public IReadOnlyDictionary<string, int> Errors => _errors;

    public void List(TimeSpan latency)
    {
        lock (_gate)
        {
            _listMs.Add(latency.TotalMilliseconds);
            _allMs.Add(latency.TotalMilliseconds);
        }
    }

    public void Checkout(TimeSpan latency, CheckoutResult result, int quantity)
    {
        lock (_gate)
        {
            _checkoutMs.Add(latency.TotalMilliseconds);
            _allMs.Add(latency.TotalMilliseconds);
            switch (result.Outcome)
            {
                case CheckoutOutcome.Created:
                    ConfirmedOrderIds.Add(result.OrderId!.Value);
                    TicketsConfirmed += quantity;
                    break;
                case CheckoutOutcome.SoldOut:
                    SoldOutAnswers++;
                    break;
                default:
                    UnknownAnswers++; // the generator only asks for seeded events and tiers: this would be a bug
                    break;
            }
        }
    }

    public void Error(bool checkout, TimeSpan latency, Exception e)
    {
        lock (_gate)
        {
            ErrorCount++;
            var kind = (checkout ? "checkout: " : "list: ") + ErrorKind.Of(e);
            _errors[kind] = _errors.GetValueOrDefault(kind) + 1;
        }
    }

    public void Shed()
    {
        lock (_gate)
            ShedCount++;
    }

    public void Unfinished(int count)
    {
        lock (_gate)
        {
            ErrorCount += count;
            _errors["unfinished 60 s after the last start"] = count;
        }
    }

    public int Completed { get { lock (_gate) return _allMs.Count; } }

    public (double P50, double P95, double P99, double Max) Percentiles(string which)
    {
        double[] values;
        lock (_gate)
            values = [.. which switch { "list" => _listMs, "checkout" => _checkoutMs, _ => _allMs }];
        if (values.Length == 0)
            return (double.NaN, double.NaN, double.NaN, double.NaN);
        Array.Sort(values);
        double At(double q) => values[Math.Min(values.Length - 1, (int)Math.Ceiling(q * values.Length) - 1)];
        return (At(0.50), At(0.95), At(0.99), values[^1]);
    }
}
