// The receive side of a client socket as a PipeReader, without a Pipe or a receive loop in between. An idle client
// holds no buffer: the reader waits for readiness with a zero-byte receive, then reads what arrived with
// non-blocking Receive calls into pooled arrays, and gives every array back once the session has consumed it.
// Buffers change only on the session's own calls (ReadAsync, AdvanceTo) or while its read is pending, never while
// it holds a result. Continuations run inline on the thread that saw the data (see PipeSettings).
using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Threading.Tasks.Sources;

namespace Tuki.Pool.Pooler.Transport;

// Locks on itself (no other code locks on a pipe reader/writer), which saves a lock object per idle client.
internal sealed class SocketReader(Socket socket) : PipeReader, IValueTaskSource<ReadResult>
{
    // A typical message fits in one array; a bigger frame gets a bigger array (sized to what is already buffered).
    private const int MinimumBufferSize = 4096;

    private ManualResetValueTaskSourceCore<ReadResult> _source; // RunContinuationsAsynchronously stays false: inline
    private ReadinessWait? _wait;                               // created at the first wait, reused after

    // Buffered bytes: from (_head, _headStart) to (_tail, _tail.End).
    private Segment? _head, _tail;
    private int _headStart;
    private bool _examinedAll;   // the session examined everything buffered: its next read needs new bytes
    private bool _mayHaveData;   // the socket may hold bytes not read yet (readiness seen, or a full read)

    private bool _readPending, _cancelNext, _waiting, _eof, _completed;
    private Exception? _error;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    public long BytesRead;

    /// <summary>True while the reader holds a pooled array (tests: an idle client must hold none).</summary>
    internal bool HoldsBuffer
    {
        get { lock (this) return _head is not null; }
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (this)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            if (_readPending)
                throw new InvalidOperationException("A read is already pending.");
            if (TryTakeResultLocked(out var ready))
                return new ValueTask<ReadResult>(ready);
            if (_mayHaveData)
            {
                Fill();
                if (TryTakeResultLocked(out ready))
                    return new ValueTask<ReadResult>(ready);
            }
            _readPending = true;
            _source.Reset();
            if (cancellationToken.CanBeCanceled)
            {
                _token = cancellationToken;
                _registration = cancellationToken.UnsafeRegister(static (s, token) => ((SocketReader)s!).CancelFromToken(token), this);
            }
            if (_waiting)
                return new ValueTask<ReadResult>(this, _source.Version);
            _waiting = true;
        }
        StartWait();
        return new ValueTask<ReadResult>(this, _source.Version);
    }

    public override bool TryRead(out ReadResult result)
    {
        lock (this)
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            if (!_readPending && TryTakeResultLocked(out result))
                return true;
        }
        result = default;
        return false;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        lock (this)
        {
            if (_head is null)
                return;
            var consumedSegment = (Segment?)consumed.GetObject() ?? _head;
            while (_head is not null && _head != consumedSegment)
            {
                var next = (Segment?)_head.Next;
                Release(_head);
                _head = next;
            }
            _headStart = consumed.GetInteger();
            if (_head is null || (_head == _tail && _headStart >= _tail.End))
            {
                // Everything consumed: the array goes back to the pool, so an idle client holds none.
                if (_head is not null)
                    Release(_head);
                _head = _tail = null;
                _headStart = 0;
                _examinedAll = false;
                return;
            }
            _examinedAll = examined.GetObject() == _tail && examined.GetInteger() >= _tail!.End;
        }
    }

    public override void CancelPendingRead()
    {
        ReadResult result = default;
        CancellationTokenRegistration registration;
        lock (this)
        {
            if (!_readPending)
            {
                _cancelNext = true;
                return;
            }
            _readPending = false;
            registration = TakeRegistrationLocked();
            result = new ReadResult(Buffered(), isCanceled: true, isCompleted: _eof);
        }
        registration.Unregister();
        _source.SetResult(result); // outside the lock: the session continues right here
    }

    public override void Complete(Exception? exception = null)
    {
        lock (this)
        {
            if (_completed)
                return;
            _completed = true;
            while (_head is not null)
            {
                var next = (Segment?)_head.Next;
                Release(_head);
                _head = next;
            }
            _tail = null;
        }
    }

    // ---- waiting for bytes ----

    private void StartWait()
    {
        var wait = _wait ??= new ReadinessWait(this);
        bool pending;
        try
        {
            pending = socket.ReceiveAsync(wait);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            OnWaitDone(SocketError.OperationAborted);
            return;
        }
        if (!pending)
            OnWaitDone(wait.SocketError);
    }

    private void OnWaitDone(SocketError error)
    {
        var rewait = false;
        var complete = false;
        ReadResult result = default;
        Exception? failure = null;
        CancellationTokenRegistration registration = default;
        lock (this)
        {
            _waiting = false;
            if (error != SocketError.Success)
                _error ??= ConnectionErrors.Closed(error);
            else
                _mayHaveData = true;
            if (!_readPending)
                return; // the session was woken otherwise (CancelPendingRead); its next read looks at the socket
            if (_error is null && _mayHaveData)
                Fill();
            if (_error is not null)
            {
                _readPending = false;
                registration = TakeRegistrationLocked();
                failure = _error;
            }
            else if (TryTakeResultLocked(out result))
            {
                _readPending = false;
                registration = TakeRegistrationLocked();
                complete = true;
            }
            else
            {
                _waiting = true; // readiness without bytes: wait again
                rewait = true;
            }
        }
        registration.Unregister();
        if (failure is not null)
            _source.SetException(failure);
        else if (complete)
            _source.SetResult(result);
        else if (rewait)
            StartWait();
    }

    private void CancelFromToken(CancellationToken token)
    {
        lock (this)
        {
            // A callback that lost the race to a completion may run after the next read began: only the read
            // registered with this token (or a later one with the same, now cancelled, token) is cancelled.
            if (!_readPending || _token != token)
                return;
            _readPending = false;
            _registration = default;
            _token = default;
        }
        _source.SetException(new OperationCanceledException(token));
    }

    /// <summary>Reads what the socket holds now, without waiting. Caller holds this object's lock and no result is
    /// out with the session.</summary>
    private void Fill()
    {
        _mayHaveData = false;
        while (true)
        {
            var tail = WritableTail();
            var free = tail.Array.Length - tail.End;
            int received;
            SocketError error;
            try
            {
                received = socket.Receive(tail.Array, tail.End, free, SocketFlags.None, out error);
            }
            catch (ObjectDisposedException)
            {
                (received, error) = (0, SocketError.OperationAborted);
            }
            if (error == SocketError.WouldBlock)
                return;
            if (error != SocketError.Success)
            {
                _error ??= ConnectionErrors.Closed(error);
                return;
            }
            if (received == 0)
            {
                _eof = true;
                return;
            }
            tail.Commit(received);
            BytesRead += received;
            _examinedAll = false;
            if (received < free)
                return; // drained, most likely: the next read waits for readiness rather than trying again
            _mayHaveData = true;
            if (Buffered().Length >= MinimumBufferSize * 16)
                return; // enough for the session to work on; the rest stays in the kernel (backpressure)
        }
    }

    private Segment WritableTail()
    {
        if (_tail is not null && _tail.End < _tail.Array.Length)
            return _tail;
        var size = Math.Max(MinimumBufferSize, _tail is null ? 0 : (int)Math.Min(Buffered().Length, 1024 * 1024));
        var segment = new Segment(ArrayPool<byte>.Shared.Rent(size));
        if (_tail is null)
        {
            _head = _tail = segment;
            _headStart = 0;
        }
        else
        {
            _tail.Link(segment);
            _tail = segment;
        }
        return segment;
    }

    private bool TryTakeResultLocked(out ReadResult result)
    {
        if (_cancelNext)
        {
            _cancelNext = false;
            result = new ReadResult(Buffered(), isCanceled: true, isCompleted: _eof);
            return true;
        }
        if (_error is not null)
            throw _error;
        var hasNew = _head is not null && !_examinedAll;
        if (hasNew || _eof)
        {
            result = new ReadResult(Buffered(), isCanceled: false, isCompleted: _eof);
            return true;
        }
        result = default;
        return false;
    }

    private ReadOnlySequence<byte> Buffered() =>
        _head is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(_head, _headStart, _tail!, _tail!.End);

    private CancellationTokenRegistration TakeRegistrationLocked()
    {
        var registration = _registration;
        _registration = default;
        _token = default;
        return registration;
    }

    private static void Release(Segment segment) => ArrayPool<byte>.Shared.Return(segment.Array);


    // ---- IValueTaskSource ----

    ReadResult IValueTaskSource<ReadResult>.GetResult(short token) => _source.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<ReadResult>.GetStatus(short token) => _source.GetStatus(token);

    void IValueTaskSource<ReadResult>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _source.OnCompleted(continuation, state, token, flags);

    /// <summary>A buffer-free receive that completes when the socket is readable (or closed).</summary>
    private sealed class ReadinessWait : SocketAsyncEventArgs
    {
        private readonly SocketReader _reader;

        public ReadinessWait(SocketReader reader) : base(unsafeSuppressExecutionContextFlow: true)
        {
            _reader = reader;
            SetBuffer(Memory<byte>.Empty);
        }

        protected override void OnCompleted(SocketAsyncEventArgs e) => _reader.OnWaitDone(e.SocketError);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(byte[] array)
        {
            Array = array;
            Memory = ReadOnlyMemory<byte>.Empty;
        }

        public byte[] Array { get; }

        public int End { get; private set; }

        public void Commit(int count)
        {
            End += count;
            Memory = Array.AsMemory(0, End);
        }

        public void Link(Segment next)
        {
            next.RunningIndex = RunningIndex + End;
            Next = next;
        }
    }
}
