// Readiness of client sockets from the pooler's own epoll instance (Linux), PgBouncer's model: a client socket is
// registered once, edge-triggered, and every arrival of bytes (or a hang-up) calls its reader on a loop thread,
// which reads and runs the session inline. .NET's zero-byte ReceiveAsync, used before, cost two 1-byte MSG_PEEK
// receives around every wait (three syscalls per client message instead of one) and, per idle client, an event-args
// object, an operation object, a SocketAsyncContext and its three locks (~0.7 KB). Elsewhere (macOS, Windows, or
// TUKI_POOL_EPOLL=0) SocketReader keeps the zero-byte receive.
//
// Listening sockets are served the same way (edge-triggered; the acceptor drains the backlog), so a login costs no
// wake-up of .NET's socket thread and no thread-pool hop before its first read.
//
// One epoll set, several threads waiting on it (one per core). The kernel hands each batch of ready sockets to one
// waiting thread only, so a second thread is woken only for events that arrive while the first is busy, and any
// thread serves any socket. (A set per thread, the earlier design, woke each thread for its own sockets even while
// the other idled, and left one thread's sockets waiting while the other had nothing to do; the shared set gave
// 4-5 % more TPS on select, TPC-B and one client, bench/RESULTS.md 2026-12-03 evening. It still sleeps more often
// than a single thread: 4.5 against 3.3 context switches per TPC-B transaction.) An edge goes to one thread; a
// socket's handlers take the socket's lock, as they must anyway against the session's own thread, so two threads may
// serve the same socket one after the other.
//
// Registrations are tokens, not file descriptors: a closed socket leaves the epoll set by itself and its number can
// be reused at once, so an event is delivered only to the reader whose token it carries (slot + generation).
using System.Buffers.Binary;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Tuki.Pool.Pooler.Transport;

internal sealed class ReadinessLoop
{
    public const string Variable = "TUKI_POOL_EPOLL";           // 0 turns the loop off (compare, or work around)
    public const string ThreadsVariable = "TUKI_POOL_EPOLL_THREADS";

    private const int MaxEvents = 256;

    private static readonly ReadinessLoop? s_loop = Start();

    private readonly int _epoll;
    private readonly Lock _lock = new();
    private object?[] _targets = new object?[256];               // SocketReader or Acceptor, by slot; read without the lock by the loop
    private int[] _free = new int[256];                          // free slots (a stack)
    private int _freeCount, _nextSlot;
    private uint _generation;

    private ReadinessLoop(int epoll, int threads)
    {
        _epoll = epoll;
        for (var i = 0; i < threads; i++)
            new Thread(Run) { IsBackground = true, Name = "Tuki epoll" }.UnsafeStart();
    }

    /// <summary>True when client sockets are served by the epoll loop (Linux x64/arm64, not turned off).</summary>
    public static bool Enabled => s_loop is not null;

    /// <summary>Registers <paramref name="socket"/> (edge-triggered) on the loop; false when there is none or the
    /// kernel refused. <paramref name="target"/>.OnReadable runs on every arrival after this.</summary>
    public static bool TryRegister(SafeHandle socket, SocketReader target, out ReadinessLoop? loop, out ulong token) =>
        TryAdd(socket, target, Epoll.Client, out loop, out token);

    /// <summary>A listening socket on the loop: <see cref="OnAcceptable"/> runs on a loop thread when connections
    /// arrive (edge-triggered: it must take every waiting one, or call <see cref="Rearm"/>).</summary>
    internal sealed class Acceptor(Action onAcceptable)
    {
        internal ulong Token;
        internal readonly Action OnAcceptable = onAcceptable;
    }

    /// <summary>Registers a listening socket (made non-blocking by the caller) on the loop; false when there is none
    /// or the kernel refused. <see cref="RemoveListener"/> ends it.</summary>
    public static bool TryRegisterListener(Socket listener, Acceptor acceptor, out ReadinessLoop? loop) =>
        TryAdd(listener.SafeHandle, acceptor, Epoll.Listener, out loop, out _);

    private static bool TryAdd(SafeHandle socket, object target, uint events, out ReadinessLoop? loop, out ulong token)
    {
        loop = s_loop;
        token = 0;
        if (loop is not null && loop.Add(socket, target, events, out token))
            return true;
        loop = null;
        return false;
    }

    /// <summary>An acceptor that stopped before its backlog was empty: the kernel reports the listener again if
    /// connections still wait (EPOLL_CTL_MOD re-checks readiness).</summary>
    public void Rearm(Socket listener, Acceptor acceptor) =>
        Control(Epoll.CtlMod, listener.SafeHandle, Epoll.Listener, acceptor.Token);

    /// <summary>Takes a listening socket off this loop (epoll stops reporting it even though it stays open).</summary>
    public void RemoveListener(Socket listener, Acceptor acceptor)
    {
        Control(Epoll.CtlDel, listener.SafeHandle, 0, 0); // a closed socket has left the set by itself: nothing to do then
        Remove(acceptor.Token);
    }

    private static ulong TokenOf(object? target) => target switch
    {
        SocketReader reader => reader.ReadinessToken,
        Acceptor acceptor => acceptor.Token,
        _ => 0,
    };

    private bool Add(SafeHandle socket, object target, uint events, out ulong token)
    {
        int slot;
        lock (_lock)
        {
            if (_freeCount > 0)
                slot = _free[--_freeCount];
            else
            {
                slot = _nextSlot++;
                if (slot == _targets.Length)
                {
                    Array.Resize(ref _free, _free.Length * 2);
                    var grown = new object?[_targets.Length * 2];
                    Array.Copy(_targets, grown, _targets.Length);
                    Volatile.Write(ref _targets, grown);
                }
            }
            token = (ulong)++_generation << 32 | (uint)slot;
            // Before the slot is visible: the loop compares tokens.
            if (target is SocketReader reader)
                reader.ReadinessToken = token;
            else
                ((Acceptor)target).Token = token;
            Volatile.Write(ref _targets[slot], target);
        }

        if (Control(Epoll.CtlAdd, socket, events, token) == 0)
            return true;
        Remove(token);
        token = 0;
        return false;
    }

    /// <summary>epoll_ctl on the socket's descriptor, held open for the call as .NET's own calls do; -1 when the socket
    /// is already closed.</summary>
    private int Control(int op, SafeHandle handle, uint events, ulong token)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            return Epoll.Control(_epoll, op, (int)handle.DangerousGetHandle(), events, token);
        }
        catch (ObjectDisposedException)
        {
            return -1;
        }
        finally
        {
            if (added)
                handle.DangerousRelease();
        }
    }

    /// <summary>Gives the slot back; later events for the old socket are ignored (their token no longer matches).
    /// The socket leaves the epoll set by itself when it is closed.</summary>
    public void Remove(ulong token)
    {
        var slot = (int)(uint)token;
        lock (_lock)
        {
            if (TokenOf(_targets[slot]) != token)
                return;
            Volatile.Write(ref _targets[slot], null);
            _free[_freeCount++] = slot;
        }
    }

    internal bool Holds(SocketReader target)
    {
        var token = target.ReadinessToken;
        var targets = Volatile.Read(ref _targets);
        var slot = (int)(uint)token;
        return token != 0 && slot < targets.Length && targets[slot] == target;
    }

    private void Run()
    {
        // Sessions run here and use no AsyncLocal: with the flow suppressed, their async state machines capture no
        // ExecutionContext, and every resumption (four or more per transaction) calls MoveNext directly instead of
        // going through ExecutionContext.RunInternal, which installs the captured context and restores the thread's.
        // (UnsafeStart above only keeps the creating thread's context from being held for the loop's lifetime.)
        ExecutionContext.SuppressFlow();
        var events = GC.AllocateArray<byte>(MaxEvents * Epoll.EventSize, pinned: true); // this thread's own batch
        while (true)
        {
            var count = Epoll.Wait(_epoll, events, MaxEvents);
            if (count < 0)
            {
                if (Marshal.GetLastPInvokeError() == Epoll.EINTR)
                    continue;
                // EBADF/EINVAL cannot happen with our own descriptor; do not spin if it ever does.
                Thread.Sleep(10);
                continue;
            }
            Dispatch(events, count);
        }
    }

    // Apart from Run so that it is compiled like any other method (tiered, with profile data): Run never returns, so
    // it only ever runs as an on-stack-replacement copy of its first, unoptimized compilation.
    private void Dispatch(byte[] events, int count)
    {
        LoopClock.Tick();
        var targets = Volatile.Read(ref _targets);
        for (var i = 0; i < count; i++)
        {
            if ((i & 31) == 31)
                LoopClock.Tick(); // a long batch: keep the sessions' timestamps within a few dozen events
            var (flags, token) = Epoll.At(events, i);
            var slot = (int)(uint)token;
            if (slot >= targets.Length)
                targets = Volatile.Read(ref _targets);
            var target = slot < targets.Length ? Volatile.Read(ref targets[slot]) : null;
            try
            {
                if (target is SocketReader reader)
                {
                    if (reader.ReadinessToken != token)
                        continue;
                    if ((flags & Epoll.Out) != 0)
                        reader.OnWritable(); // a connect in progress, or a send waiting for room
                    if ((flags & (Epoll.In | Epoll.HangUp)) != 0)
                        reader.OnReadable(hangUp: (flags & Epoll.PeerGone) != 0); // the session's read completes: it runs here
                }
                else if (target is Acceptor acceptor && acceptor.Token == token)
                    acceptor.OnAcceptable();
            }
            catch (Exception ex)
            {
                // Sessions are async methods that keep their own exceptions, and the acceptor catches its own, so
                // this is a bug; the loop must outlive it, or every other socket on it would stop being served.
                Console.Error.WriteLine($"pooler: readiness loop callback failed: {ex}");
            }
        }
    }

    private static ReadinessLoop? Start()
    {
        if (!OperatingSystem.IsLinux() || Environment.GetEnvironmentVariable(Variable) == "0"
            || RuntimeInformation.ProcessArchitecture is not (Architecture.X64 or Architecture.Arm64))
            return null;
        // One thread per core, all waiting on the one set (see the top of this file).
        var threads = int.TryParse(Environment.GetEnvironmentVariable(ThreadsVariable), out var n) && n > 0
            ? n : Environment.ProcessorCount;
        var epoll = Epoll.Create();
        return epoll < 0 ? null : new ReadinessLoop(epoll, threads);
    }

    /// <summary>epoll(7) through libc. struct epoll_event is packed on x86-64 (12 bytes), naturally aligned elsewhere
    /// (16 bytes), so it is read and written as bytes.</summary>
    private static class Epoll
    {
        public const int EINTR = 4;
        public const int CtlAdd = 1, CtlDel = 2, CtlMod = 3;
        private const int CloExec = 0x80000;
        public const uint In = 0x001, Out = 0x004;
        private const uint Err = 0x008, Hup = 0x010, RdHup = 0x2000, EdgeTriggered = 1u << 31;
        public const uint HangUp = Err | Hup | RdHup;
        // The peer's FIN brings RDHUP, a reset ERR. A bare HUP is not evidence: a socket not connected yet polls as
        // OUT|HUP, and a server socket is registered before its connect.
        public const uint PeerGone = Err | RdHup;

        public static readonly int EventSize = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 12 : 16;
        private static readonly int DataOffset = RuntimeInformation.ProcessArchitecture == Architecture.X64 ? 4 : 8;

        public static int Create() => epoll_create1(CloExec);

        // A connection, edge-triggered: EPOLLOUT costs nothing then (it fires when a full send buffer drains, and at
        // connect).
        public const uint Client = In | Out | RdHup | Err | Hup | EdgeTriggered;

        // A listening socket, edge-triggered too: a level-triggered one left ready would wake a second waiting thread
        // with every event (the kernel passes a still-ready level-triggered socket on to the next waiter).
        public const uint Listener = In | EdgeTriggered;

        public static int Control(int epoll, int op, int fd, uint events, ulong token)
        {
            Span<byte> ev = stackalloc byte[16]; // ignored by CtlDel (kernels before 2.6.9 wanted it non-null)
            BinaryPrimitives.WriteUInt32LittleEndian(ev, events);
            BinaryPrimitives.WriteUInt64LittleEndian(ev.Slice(DataOffset), token);
            return epoll_ctl(epoll, op, fd, ref MemoryMarshal.GetReference(ev));
        }

        public static int Wait(int epoll, byte[] events, int max) => epoll_wait(epoll, ref events[0], max, -1);

        public static (uint Flags, ulong Token) At(byte[] events, int index) =>
            (BinaryPrimitives.ReadUInt32LittleEndian(events.AsSpan(index * EventSize, 4)),
             BinaryPrimitives.ReadUInt64LittleEndian(events.AsSpan(index * EventSize + DataOffset, 8)));

        [DllImport("libc", SetLastError = true)]
        private static extern int epoll_create1(int flags);

        [DllImport("libc", SetLastError = true)]
        private static extern int epoll_ctl(int epfd, int op, int fd, ref byte ev);

        [DllImport("libc", SetLastError = true)]
        private static extern int epoll_wait(int epfd, ref byte events, int maxevents, int timeout);
    }
}
