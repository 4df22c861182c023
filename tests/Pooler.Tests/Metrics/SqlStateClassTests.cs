// The SQLSTATE class label read from a raw ErrorResponse frame without parsing it whole.
using System.Buffers;
using Tuki.Pool.Pooler.Metrics;
using Tuki.Pool.Pooler.Protocol;

namespace Tuki.Pool.Pooler.Tests.Metrics;

public sealed class SqlStateClassTests
{
    [Theory]
    [InlineData("42P01", "42")]
    [InlineData("57P01", "57")]
    [InlineData("08006", "08")]
    public void Of_ErrorResponseFrame_ReturnsClass(string code, string expected)
    {
        var writer = new ArrayBufferWriter<byte>();
        MessageWriter.WriteErrorResponse(writer, new PgError("ERROR", code, "boom", "a hint"));
        Assert.Equal(expected, SqlStateClass.Of(new ReadOnlySequence<byte>(writer.WrittenMemory)));
    }

    [Fact]
    public void Of_FrameWithoutCode_ReturnsUnknownBucket()
    {
        byte[] frame = [(byte)'E', 0, 0, 0, 11, (byte)'M', (byte)'x', 0, (byte)'S', (byte)'E', 0, 0];
        Assert.Equal("??", SqlStateClass.Of(new ReadOnlySequence<byte>(frame)));
    }

    [Fact]
    public void Of_CodeWithInvalidCharacters_ReturnsUnknownBucket() => Assert.Equal("??", SqlStateClass.Of("a#123"));
}
