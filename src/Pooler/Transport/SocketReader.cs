// The receive side of a client socket as a PipeReader, without a Pipe or a receive loop in between. An idle client
// holds no buffer: the reader learns that bytes arrived from a ReadinessLoop (Linux epoll, registered once) or, where
// there is none, from a zero-byte receive; then it reads what arrived with non-blocking Receive calls into pooled
// arrays, and gives every array back once the session has consumed it. Buffers change only on the session's own calls
// (ReadAsync, AdvanceTo) or while its read is pending, never while it holds a result. Continuations run inline on the
// thread that saw the data (see PipeSettings).
using System.Buffers;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Threading.Tasks.Sources;
using Tuki.Pool.Pooler.Concurrency;

namespace Tuki.Pool.Pooler.Transport;

// Guarded by a LeanLock in one int field: no lock object per idle client, and no call into the runtime per lock.
internal sealed class SocketReader : PipeReader, IValueTaskSource<ReadResult>
{
    private int _lock; // LeanLock state

    private LeanLock.Held Lock() => LeanLock.Enter(ref _lock, this);

    private const int MinimumBufferSize = 4096;

    private readonly SafeHandle _handle;
    private readonly Socket? _socket; // null for an accepted client on a loop: everything goes through _handle (SocketCalls)

    private ManualResetValueTaskSourceCore<ReadResult> _source; // RunContinuationsAsynchronously stays false: inline
    private readonly ReadinessLoop? _loop;                      // epoll: arrivals call OnReadable, no wait to start
    private ReadinessWait? _wait;                               // otherwise: created at the first wait, reused after

    // Buffered bytes: from (_head, _headStart) to (_tail, _tail.End).
    private Segment? _head, _tail;
    private int _headStart;
    private bool _examinedAll;   // the session examined everything buffered: its next read needs new bytes
    private bool _mayHaveData = true; // the socket may hold bytes not read yet (new, readiness seen, or a full read)
    private bool _hangUp;        // the loop reported the peer's FIN or an error: read to the end, not to a short read

    private bool _readPending, _cancelNext, _waiting, _eof, _completed;
    private Exception? _error;
    private CancellationToken _token;
    private CancellationTokenRegistration _registration;

    public long BytesRead;

    /// <summary>This reader's registration with <see cref="_loop"/> (slot and generation); 0 when not registered.</summary>
    internal ulong ReadinessToken;

    /// <summary>True while a readiness loop delivers this socket's arrivals (tests: closing must end it).</summary>
    internal bool ReadinessRegistered => _loop is not null && _loop.Holds(this);

    /// <summary><paramref name="socket"/> may be null only with <paramref name="useReadinessLoop"/>; if the loop then
    /// refuses the socket (<see cref="OnLoop"/> false), the owner makes a reader with a Socket instead
    /// (<see cref="SocketPipe.FromDescriptor"/>).</summary>
    public SocketReader(SafeHandle handle, Socket? socket, bool useReadinessLoop = true)
    {
        _handle = handle;
        _socket = socket;
        // Non-blocking before the loop may report anything (a descriptor from SocketCalls.Accept is from the start);
        // SocketPipe marks the rest through .NET.
        if (useReadinessLoop && ReadinessLoop.Enabled && (handle is SocketDescriptor { NonBlocking: true } || SocketCalls.TrySetNonBlocking(handle)) &&
            ReadinessLoop.TryRegister(handle, this, out var loop, out _))
            _loop = loop;
    }

    /// <summary>True while the reader holds a pooled array (tests: an idle client must hold none).</summary>
    internal bool HoldsBuffer
    {
        get { using (Lock()) return _head is not null; }
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        using (Lock())
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
            if (_waiting || _loop is not null) // with a loop, the next arrival calls OnReadable: nothing to start
                return new ValueTask<ReadResult>(this, _source.Version);
            _waiting = true;
        }
        StartWait();
        return new ValueTask<ReadResult>(this, _source.Version);
    }

    public override bool TryRead(out ReadResult result)
    {
        using (Lock())
        {
            ObjectDisposedException.ThrowIf(_completed, this);
            if (_readPending)
            {
                result = default;
                return false;
            }
            if (TryTakeResultLocked(out result))
                return true;
            // Without a loop nothing tells us about arrivals while no read waits (an idle server's FATAL): look.
            if (_mayHaveData || _loop is null)
            {
                Fill();
                if (TryTakeResultLocked(out result))
                    return true;
            }
        }
        result = default;
        return false;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        using (Lock())
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
        using (Lock())
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
        using (Lock())
        {
            if (_completed)
                return;
            _completed = true;
            _loop?.Remove(ReadinessToken);
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
            pending = _socket!.ReceiveAsync(wait);
        }
        catch (Exception ex) when (ex is ObjectDisposedException or SocketException)
        {
            OnWaitDone(SocketError.OperationAborted);
            return;
        }
        if (!pending)
            OnWaitDone(wait.SocketError);
    }

    private void OnWaitDone(SocketError error) => OnReady(error, waited: true, hangUp: false);

    /// <summary>The readiness loop saw bytes (or a hang-up) arrive. Runs on a loop thread.</summary>
    internal void OnReadable(bool hangUp) => OnReady(SocketError.Success, waited: false, hangUp);

    private TaskCompletionSource? _writable; // a non-blocking connect waiting for the loop's writable event

    /// <summary>Waits until the socket is writable (a non-blocking connect finished, or failed): with the loop only.</summary>
    internal async Task WaitWritableAsync(CancellationToken cancellationToken)
    {
        var writable = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref _writable, writable);
        // The loop's first event may have come before the waiter existed: look once.
        if (_socket!.Poll(0, SelectMode.SelectWrite) || _socket.Poll(0, SelectMode.SelectError)) // connects: a Socket
            writable.TrySetResult();
        await writable.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        Volatile.Write(ref _writable, null);
    }

    /// <summary>The loop saw the socket writable (or failed): a connect or a send waiting for room goes on. No lock
    /// on the way: every event reports writability.</summary>
    internal void OnWritable()
    {
        Volatile.Read(ref _writable)?.TrySetResult();
        Writer?.OnWritable();
    }

    /// <summary>The same socket's writer, woken by the loop's writable events.</summary>
    internal SocketWriter? Writer { get; set; }

    /// <summary>The loop reported the peer gone (tests: a fresh connection must not look so).</summary>
    internal bool HangUpSeen
    {
        get { using (Lock()) return _hangUp; }
    }

    /// <summary>True when a readiness loop serves this socket (the writer then waits on it too).</summary>
    internal bool OnLoop => _loop is not null;

    /// <summary>The socket was closed locally: a pending read fails at once (a closed socket leaves the epoll set
    /// without an event).</summary>
    internal void OnSocketClosed()
    {
        CancellationTokenRegistration registration;
        Exception failure;
        using (Lock())
        {
            _loop?.Remove(ReadinessToken);
            failure = _error ??= ConnectionErrors.ClosedLocally;
            if (!_readPending)
                return;
            _readPending = false;
            registration = TakeRegistrationLocked();
        }
        registration.Unregister();
        _source.SetException(ConnectionErrors.Raise(failure));
    }

    private void OnReady(SocketError error, bool waited, bool hangUp)
    {
        var rewait = false;
        var complete = false;
        ReadResult result = default;
        Exception? failure = null;
        CancellationTokenRegistration registration = default;
        using (Lock())
        {
            if (waited)
                _waiting = false;
            _hangUp |= hangUp;
            if (error != SocketError.Success)
                _error ??= ConnectionErrors.Closed(error);
            else
                _mayHaveData = true;
            if (!_readPending)
                return; // nobody waits (or the session was woken otherwise): its next read looks at the socket
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
            else if (waited)
            {
                _waiting = true; // readiness without bytes: wait again
                rewait = true;
            }
            // else: an event without bytes (read already); the loop calls again on the next arrival
        }
        registration.Unregister();
        if (failure is not null)
            _source.SetException(ConnectionErrors.Raise(failure));
        else if (complete)
            _source.SetResult(result);
        else if (rewait)
            StartWait();
    }

    private void CancelFromToken(CancellationToken token)
    {
        using (Lock())
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
            // Into the tail's free space, or a new array that joins the buffer only if bytes came: a wake-up
            // without bytes leaves no empty segment behind (it would read as a result with nothing new).
            var fresh = _tail is null || _tail.End == _tail.Array.Length;
            var array = fresh ? ArrayPool<byte>.Shared.Rent(NextBufferSize()) : _tail!.Array;
            var offset = fresh ? 0 : _tail!.End;
            var free = array.Length - offset;
            int received;
            SocketError error;
            try
            {
                received = SocketCalls.Receive(_handle, _socket, viaLibc: _loop is not null, array, offset, free, out error);
            }
            catch (ObjectDisposedException)
            {
                (received, error) = (0, SocketError.OperationAborted);
            }
            if (error != SocketError.Success || received == 0)
            {
                if (fresh)
                    ArrayPool<byte>.Shared.Return(array);
                if (error == SocketError.WouldBlock)
                {
                    _mayHaveData = false; // drained (a read that exactly filled its array left it set)
                    return;
                }
                if (error != SocketError.Success)
                    _error ??= ConnectionErrors.Closed(error);
                else
                    _eof = true;
                return;
            }
            if (fresh)
                Append(Segment.Rent(array));
            _tail!.Commit(received);
            BytesRead += received;
            _examinedAll = false;
            if (received < free && !_hangUp)
                return; // drained, most likely: the next read waits for readiness rather than trying again
            // (With the loop, bytes that arrive after this read raise a new event; a FIN that was already there
            // does not, hence _hangUp.)
            _mayHaveData = true;
            if (Buffered().Length >= MinimumBufferSize * 16)
                return; // enough for the session to work on; the rest stays in the kernel (backpressure)
        }
    }

    // A typical message fits in one array; after that, arrays grow with what is buffered (a big frame).
    private int NextBufferSize() =>
        Math.Max(MinimumBufferSize, _tail is null ? 0 : (int)Math.Min(Buffered().Length, 1024 * 1024));

    private void Append(Segment segment)
    {
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
            throw ConnectionErrors.Raise(_error);
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

    private static void Release(Segment segment)
    {
        ArrayPool<byte>.Shared.Return(segment.Array);
        segment.Return();
    }


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
        // One spare per thread: a message's segment is taken and given back on the same loop thread, so this saves
        // an allocation per read, and an idle reader holds no segment.
        [ThreadStatic] private static Segment? t_spare;

        private Segment(byte[] array)
        {
            Array = array;
            Memory = ReadOnlyMemory<byte>.Empty;
        }

        public static Segment Rent(byte[] array)
        {
            var spare = t_spare;
            if (spare is null)
                return new Segment(array);
            t_spare = null;
            spare.Array = array;
            return spare;
        }

        /// <summary>After its array went back to the pool; the session no longer holds a sequence over it.</summary>
        public void Return()
        {
            Array = null!;
            End = 0;
            Memory = ReadOnlyMemory<byte>.Empty;
            Next = null;
            RunningIndex = 0;
            t_spare = this;
        }

        public byte[] Array { get; private set; }

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
