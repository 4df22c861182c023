// Durations: the accepted spellings and the refused ones (unit-less, negative, fractional, spaced, unknown unit).
using Tuki.Pool.Pooler.Configuration;

namespace Tuki.Pool.Pooler.Tests.Configuration;

public class DurationsTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("0ms", 0)]
    [InlineData("1ms", 1)]
    [InlineData("500ms", 500)]
    [InlineData("15s", 15_000)]
    [InlineData("5m", 300_000)]
    [InlineData("2h", 7_200_000)]
    public void TryParse_IntegerWithUnit_ReturnsDuration(string text, long milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("-1s")]
    [InlineData("+1s")]
    [InlineData(" 1s")]
    [InlineData("1 s")]
    [InlineData("1.5s")]
    [InlineData("s")]
    [InlineData("ms")]
    [InlineData("1d")]
    [InlineData("1S")]
    [InlineData("1hs")]
    [InlineData("99999999999999999999h")]
    public void TryParse_MalformedText_ReturnsFalse(string text)
    {
        Assert.False(Durations.TryParse(text, out _));
    }
}
