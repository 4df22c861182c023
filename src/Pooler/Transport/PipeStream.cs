// A duplex pipe seen as a Stream, for SslStream to encrypt over (the in-box PipeReader/PipeWriter stream adapters,
// joined). Disposing it leaves the pipe to its owner, which closes the socket.
using System.IO.Pipelines;

namespace Tuki.Pool.Pooler.Transport;

internal sealed class PipeStream(IDuplexPipe pipe) : Stream
{
    private readonly Stream _reader = pipe.Input.AsStream(leaveOpen: true);
    private readonly Stream _writer = pipe.Output.AsStream(leaveOpen: true);

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _reader.ReadAsync(buffer, cancellationToken);

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _reader.ReadAsync(buffer, offset, count, cancellationToken);

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        _writer.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        _writer.WriteAsync(buffer, offset, count, cancellationToken);

    public override Task FlushAsync(CancellationToken cancellationToken) => _writer.FlushAsync(cancellationToken);

    // SslStream is only ever driven through the async methods here; the synchronous ones exist for completeness.
    public override int Read(byte[] buffer, int offset, int count) => _reader.Read(buffer, offset, count);
    public override void Write(byte[] buffer, int offset, int count) => _writer.Write(buffer, offset, count);
    public override void Flush() => _writer.Flush();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
