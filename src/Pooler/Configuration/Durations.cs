// Durations as pooler.yaml writes them: an integer with a unit (500ms, 15s, 5m, 1h), or a bare 0.
using System.Globalization;

namespace Tuki.Pool.Pooler.Configuration;

internal static class Durations
{
    /// <summary>The form an error message shows when a duration can't be read.</summary>
    public const string ExpectedForm = "a duration such as 500ms, 15s, 5m or 1h (or 0)";

    /// <summary>Longest accepted duration: timers such as <c>CancellationTokenSource.CancelAfter</c> reject much more
    /// than 49 days, so cap below that (596h is about 24.8 days) rather than fail later at run time.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromHours(596);

    public const string MaxText = "596h";

    // Longest suffix first, so "ms" is not read as "m" followed by garbage.
    private static readonly (string Unit, long TicksPerUnit)[] Units =
        [("ms", TimeSpan.TicksPerMillisecond), ("s", TimeSpan.TicksPerSecond), ("m", TimeSpan.TicksPerMinute), ("h", TimeSpan.TicksPerHour)];

    /// <summary>Reads a duration. A number without a unit is refused (except 0): "30" could mean seconds or
    /// milliseconds, and guessing wrong is a silent outage. Negative values are refused by the syntax.</summary>
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (text == "0")
            return true;
        foreach (var (unit, ticksPerUnit) in Units)
        {
            if (!text.EndsWith(unit, StringComparison.Ordinal))
                continue;
            var digits = text.AsSpan(0, text.Length - unit.Length);
            // NumberStyles.None: digits only, so "-5s", "+5s" and " 5s" are refused.
            if (digits.Length == 0
                || !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var count)
                || count > long.MaxValue / ticksPerUnit)
                return false;
            value = TimeSpan.FromTicks(count * ticksPerUnit);
            return true;
        }
        return false;
    }

    /// <summary>The shortest way pooler.yaml could write <paramref name="value"/> (SHOW CONFIG).</summary>
    public static string Show(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
            return "0";
        for (var i = Units.Length - 1; i >= 0; i--)
        {
            var (unit, ticksPerUnit) = Units[i];
            if (value.Ticks % ticksPerUnit == 0)
                return (value.Ticks / ticksPerUnit).ToString(CultureInfo.InvariantCulture) + unit;
        }
        return value.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
    }
}
