// The send side of a socket as a PipeWriter, without a Pipe or a send loop: messages are written into one pooled
// array and FlushAsync sends it with a non-blocking Send on the flushing thread. Only when the kernel's send buffer
// is full (a peer that stops reading) does the rest wait: for the readiness loop's writable event (then a non-blocking
// resend), or without a loop for an asynchronous send. That is the backpressure: the writer (the pump) waits past
// 1 MiB of backlog, and PostgreSQL's replies stay in PostgreSQL. An idle socket holds no array. Writers never overlap
// (the session has one writer at a time); CancelPendingFlush may come from any thread.
using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Tuki.Pool.Pooler.Concurrency;

namespace Tuki.Pool.Pooler.Transport;

// Guarded by a LeanLock in one int field: no lock object per idle client, and no call into the runtime per lock.
internal sealed class SocketWriter(SafeHandle handle, Socket? socket, bool onLoop = false) : PipeWriter, IValueTaskSource<FlushResult>
{
    private int _lock; // LeanLock state

    private LeanLock.Held Lock() => LeanLock.Enter(ref _lock, this);

    private const int MinimumBufferSize = 4096;

    // As a Pipe's pause/resume thresholds (PipeSettings): a flush returns at once while less than 1 MiB is still on
    // its way to a slow client, and once it has to wait, it resumes when the backlog is under 512 KiB.
    private const int PauseThreshold = 1024 * 1024;
    private const int ResumeThreshold = 512 * 1024;

    private ManualResetValueTaskSourceCore<FlushResult> _source;
    private SendArgs? _sendArgs;       // without a readiness loop: the asynchronous send
    private bool _awaitingWritable;    // with one (onLoop): bytes wait for the loop's writable event instead
    private bool _writableSeen;        // a writable edge since the last send (OnWritable); read against the flag above

    // Ownership: _buffer/_written belong to the writing thread (GetSpan/Advance take no lock). Under the lock,
    // FlushAsync and Complete hand them to the socket: sent at once, or moved to _sending (an asynchronous send in
    // flight) or appended to _queued (waiting behind it). OnSendDone only ever touches _sending and _queued.
    private byte[]? _buffer;
    private int _written;
    private byte[]? _sending;
    private int _sendOffset, _sendEnd;
    private byte[]? _queued;
    private int _queuedLength;

    private bool _flushPending, _cancelNext, _completed, _shutdownWhenSent;
    private Exception? _error;
    private CancellationToken _flushToken;
    private CancellationTokenRegistration _flushRegistration;

    public long BytesSent;

    /// <summary>True while the writer holds a pooled array (tests: an idle client must hold none).</summary>
    internal bool HoldsBuffer
    {
        get { using (Lock()) return _buffer is not null || _sending is not null || _queued is not null; }
    }

    public override Memory<byte> GetMemory(int sizeHint = 0) => Reserve(sizeHint).AsMemory(_written);

    public override Span<byte> GetSpan(int sizeHint = 0) => Reserve(sizeHint).AsSpan(_written);

    public override void Advance(int bytes) => _written += bytes;

    public override bool CanGetUnflushedBytes => true;

    public override long UnflushedBytes => _written;

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using (Lock())
        {
            if (_error is not null)
                throw ConnectionErrors.Raise(_error);
            var canceled = _cancelNext;
            _cancelNext = false;
            HandOverLocked(); // the common case: all of it leaves here, on this thread
            if (_error is not null)
                throw ConnectionErrors.Raise(_error);
            // An un-awaited flush already waits (a fire-and-forget flush on an error path): this one does not
            // wait too, which would reset the source under it.
            if (canceled || _flushPending || Backlog() <= PauseThreshold)
                return new ValueTask<FlushResult>(new FlushResult(isCanceled: canceled, isCompleted: false));
            _flushPending = true;
            _source.Reset();
            if (cancellationToken.CanBeCanceled)
            {
                // Through TLS, the TLS writer's CancelPendingFlush arrives here as this token.
                _flushToken = cancellationToken;
                _flushRegistration = cancellationToken.UnsafeRegister(static (s, token) => ((SocketWriter)s!).CancelFromToken(token), this);
            }
            return new ValueTask<FlushResult>(this, _source.Version);
        }
    }

    /// <summary>Bytes handed to the socket and not sent yet. Caller holds the lock.</summary>
    private int Backlog() => (_sending is null ? 0 : _sendEnd - _sendOffset) + (_queued is null ? 0 : _queuedLength);

    private void CancelFromToken(CancellationToken token)
    {
        using (Lock())
        {
            if (!_flushPending || _flushToken != token)
                return;
            _flushPending = false;
            _flushToken = default;
            _flushRegistration = default;
        }
        _source.SetException(new OperationCanceledException(token)); // the send goes on; only the wait ends
    }

    private CancellationTokenRegistration TakeFlushRegistrationLocked()
    {
        var registration = _flushRegistration;
        _flushRegistration = default;
        _flushToken = default;
        return registration;
    }

    public override void CancelPendingFlush()
    {
        CancellationTokenRegistration registration;
        using (Lock())
        {
            if (!_flushPending)
            {
                _cancelNext = true;
                return;
            }
            _flushPending = false;
            registration = TakeFlushRegistrationLocked();
        }
        registration.Unregister();
        // The send goes on in the background; only the wait for it ends.
        _source.SetResult(new FlushResult(isCanceled: true, isCompleted: false));
    }

    /// <summary>No more writes. What was written still goes out (often a FATAL error), then the send side is shut
    /// down (FIN); when a send is still in flight, the shutdown waits for it.</summary>
    public override void Complete(Exception? exception = null)
    {
        bool shutdownNow;
        using (Lock())
        {
            if (_completed)
                return;
            _completed = true;
            if (_error is null)
                HandOverLocked();
            ReturnBuffer();
            shutdownNow = _sending is null || _error is not null;
            _shutdownWhenSent = !shutdownNow;
        }
        if (shutdownNow)
            ShutdownSend();
    }

    public override ValueTask CompleteAsync(Exception? exception = null)
    {
        Complete(exception);
        return ValueTask.CompletedTask;
    }

    private byte[] Reserve(int sizeHint)
    {
        if (_completed)
            throw new InvalidOperationException("The client connection's writer is completed.");
        sizeHint = Math.Max(sizeHint, 1);
        if (_buffer is null)
        {
            _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(sizeHint, MinimumBufferSize));
            return _buffer;
        }
        if (_buffer.Length - _written >= sizeHint)
            return _buffer;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_written + sizeHint, _buffer.Length * 2));
        _buffer.AsSpan(0, _written).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
        return _buffer;
    }

    /// <summary>Gives what is written to the socket: behind a send in flight it waits in _queued; otherwise it is
    /// sent now without waiting, and what the kernel does not take goes to an asynchronous send. Caller holds the
    /// lock and is the writing thread.</summary>
    private void HandOverLocked()
    {
        if (_written == 0)
            return;
        if (_sending is not null)
        {
            if (_queued is null)
                (_queued, _queuedLength) = (_buffer, _written);
            else
            {
                if (_queued.Length - _queuedLength < _written)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_queuedLength + _written, _queued.Length * 2));
                    _queued.AsSpan(0, _queuedLength).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(_queued);
                    _queued = bigger;
                }
                _buffer.AsSpan(0, _written).CopyTo(_queued.AsSpan(_queuedLength));
                _queuedLength += _written;
                ArrayPool<byte>.Shared.Return(_buffer!);
            }
            (_buffer, _written) = (null, 0);
            return;
        }
        var offset = Send(_buffer!, 0, _written);
        if (_error is not null || offset == _written)
        {
            ReturnBuffer(); // all sent: an idle client holds no array
            return;
        }
        (_sending, _sendOffset, _sendEnd) = (_buffer, offset, _written);
        (_buffer, _written) = (null, 0);
        StartSend();
        if (_error is not null && _sending is not null)
        {
            ArrayPool<byte>.Shared.Return(_sending);
            _sending = null;
        }
    }

    /// <summary>Non-blocking sends until the kernel stops taking bytes; returns the offset reached.</summary>
    private int Send(byte[] array, int offset, int end)
    {
        while (offset < end)
        {
            int sent;
            SocketError error;
            _writableSeen = false; // an edge after this send's EAGAIN sets it again (see OnWritable)
            try
            {
                sent = SocketCalls.Send(handle, socket, viaLibc: onLoop, array, offset, end - offset, out error);
            }
            catch (ObjectDisposedException)
            {
                (sent, error) = (0, SocketError.OperationAborted);
            }
            if (error == SocketError.WouldBlock)
                break;
            if (error != SocketError.Success)
            {
                _error ??= ConnectionErrors.Closed(error);
                break;
            }
            offset += sent;
            BytesSent += sent;
        }
        return offset;
    }

    /// <summary>The rest of _sending goes once the kernel has room. Caller holds the lock, right after a send that
    /// found the buffer full: with the loop, that send armed the writable edge (see OnWritable for how the edge and
    /// this flag cannot miss each other).</summary>
    private void StartSend()
    {
        if (onLoop)
        {
            // No .NET async operation: a socket that ran one stays in .NET's epoll set and wakes its threads.
            Volatile.Write(ref _awaitingWritable, true);
            Interlocked.MemoryBarrier();
            // An edge since the send's EAGAIN whose OnWritable read the flag before it was set: nobody else will send.
            // Rare (a window of a few instructions), so a thread-pool hop, outside this lock, is fine.
            if (Volatile.Read(ref _writableSeen))
                ThreadPool.UnsafeQueueUserWorkItem(static w => w.OnSendDone(), this, preferLocal: true);
            return;
        }
        var args = _sendArgs ??= new SendArgs(this);
        args.SetBuffer(_sending, _sendOffset, _sendEnd - _sendOffset);
        bool pending;
        try
        {
            pending = socket!.SendAsync(args); // off the loop there is always a Socket
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            _error ??= ConnectionErrors.Closed(SocketError.OperationAborted);
            return;
        }
        if (!pending)
            ThreadPool.UnsafeQueueUserWorkItem(static w => w.OnSendDone(), this, preferLocal: true); // not under the lock
    }

    /// <summary>The socket was closed locally. With the loop a send waiting for room would never hear of it (a closed
    /// socket leaves the epoll set without an event): it ends now, and a flush waiting on it fails.</summary>
    internal void OnSocketClosed()
    {
        using (Lock())
            _error ??= ConnectionErrors.ClosedLocally;
        if (onLoop)
            OnSendDone();
    }

    /// <summary>The readiness loop saw the socket writable (every event reports it): sends what waits, if anything.
    /// No lock unless a send waits.</summary>
    internal void OnWritable()
    {
        if (!onLoop)
            return;
        // Nearly every event reports writability, nearly always with nothing waiting, and often while the session
        // flushes this very socket on another loop thread: no lock here, or that thread would be waited for. The edge
        // comes once, possibly between a send's EAGAIN and the flag below being set, so the two sides meet as in
        // Dekker's algorithm: this side marks the edge then reads the flag, the flusher sets the flag then reads the
        // mark (StartSend); with a full fence between on both sides, at least one of them sees the other.
        Volatile.Write(ref _writableSeen, true);
        Interlocked.MemoryBarrier();
        if (Volatile.Read(ref _awaitingWritable))
            OnSendDone();
    }

    private void OnSendDone()
    {
        bool finished = false, shutdown = false;
        Exception? failure = null;
        CancellationTokenRegistration registration = default;
        using (Lock())
        {
            if (onLoop)
            {
                if (!_awaitingWritable)
                    return;
                _awaitingWritable = false;
                if (_error is null)
                    _sendOffset = Send(_sending!, _sendOffset, _sendEnd); // non-blocking; counts BytesSent
            }
            else if (_sendArgs!.SocketError != SocketError.Success)
                _error ??= ConnectionErrors.Closed(_sendArgs.SocketError);
            else
            {
                _sendOffset += _sendArgs.BytesTransferred;
                BytesSent += _sendArgs.BytesTransferred;
            }
            if (_error is null && _sendOffset < _sendEnd)
            {
                // The rest of it, once the kernel has room; a waiting flush resumes once the backlog is small.
                if (_flushPending && Backlog() <= ResumeThreshold)
                    (finished, _flushPending, registration) = (true, false, TakeFlushRegistrationLocked());
                StartSend();
                if (_error is null)
                    goto Complete;
                finished |= _flushPending;
                _flushPending = false;
            }
            ArrayPool<byte>.Shared.Return(_sending!);
            _sending = null;
            if (_queued is not null)
            {
                // Handed over while this send was in flight: it goes now, in order.
                var (queued, length) = (_queued, _queuedLength);
                _queued = null;
                var offset = _error is null ? Send(queued, 0, length) : length;
                if (_error is null && offset < length)
                {
                    (_sending, _sendOffset, _sendEnd) = (queued, offset, length);
                    if (_flushPending && Backlog() <= ResumeThreshold)
                        (finished, _flushPending, registration) = (true, false, TakeFlushRegistrationLocked());
                    StartSend();
                    if (_error is null)
                        goto Complete;
                    _sending = null;
                }
                ArrayPool<byte>.Shared.Return(queued);
            }
            if (_flushPending)
                (finished, _flushPending, registration) = (true, false, TakeFlushRegistrationLocked());
            failure = _error;
            if (_shutdownWhenSent && (_sending is null || _error is not null))
            {
                _shutdownWhenSent = false;
                shutdown = true;
            }
        }
    Complete:
        if (shutdown)
            ShutdownSend();
        if (!finished)
            return;
        registration.Unregister();
        if (failure is not null)
            _source.SetException(ConnectionErrors.Raise(failure));
        else
            _source.SetResult(new FlushResult(isCanceled: false, isCompleted: false));
    }

    private void ShutdownSend()
    {
        if (socket is null)
        {
            SocketCalls.ShutdownSend(handle);
            return;
        }
        try { socket.Shutdown(SocketShutdown.Send); }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException) { }
    }

    private void ReturnBuffer()
    {
        if (_buffer is not null)
            ArrayPool<byte>.Shared.Return(_buffer);
        (_buffer, _written) = (null, 0);
    }


    FlushResult IValueTaskSource<FlushResult>.GetResult(short token) => _source.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<FlushResult>.GetStatus(short token) => _source.GetStatus(token);

    void IValueTaskSource<FlushResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _source.OnCompleted(continuation, state, token, flags);

    private sealed class SendArgs(SocketWriter writer) : SocketAsyncEventArgs(unsafeSuppressExecutionContextFlow: true)
    {
        protected override void OnCompleted(SocketAsyncEventArgs e) => writer.OnSendDone();
    }
}
