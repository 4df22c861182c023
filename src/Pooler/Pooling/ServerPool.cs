// One pool per (database, user): idle servers reused LIFO, waiting clients served FIFO, bounded by size and by
// the database-wide cap. Pure logic: servers come from a connect delegate, so tests need no socket.
using Tuki.Pool.Pooler.Transport;

namespace Tuki.Pool.Pooler.Pooling;

public sealed class ServerPool
{
    private readonly DatabaseGroup _group;
    private readonly Func<CancellationToken, Task<IPooledConnection>> _connect;
    private readonly TimeProvider _time;
    private readonly List<IPooledConnection> _idle = [];   // top of the stack = last element (LIFO)
    private readonly Queue<PoolWaiter> _waiters = new();    // FIFO; claimed (timed-out, cancelled) ones are skipped lazily
    private int _total;    // open + opening; bounded by Settings.Size
    private int _active;   // rented out
    private int _waiting;  // live waiters
    private int _pinned;   // clients holding a server until they disconnect (transaction mode's exceptions)
    private int _generation; // bumped by RECONNECT and by a reload that changes the server address

    public ServerPool(PoolKey key, PoolSettings settings, DatabaseGroup group,
        Func<CancellationToken, Task<IPooledConnection>> connect, TimeProvider? time = null)
    {
        Key = key;
        Settings = settings;
        _group = group;
        _connect = connect;
        _time = time ?? LoopClock.Provider; // a loop thread's batch time: no clock read per rent and return
        group.Add(this);
    }

    public PoolKey Key { get; }

    public PoolSettings Settings { get; private set; }

    /// <summary>Session settings ("name=value") a client asked for at startup that this pool's servers accepted, so
    /// the next client asking for the same is not checked again. Bounded: see <see cref="MaxValidatedSettings"/>.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, byte> ValidatedSettings { get; } = new();

    /// <summary>Past this many distinct settings (e.g. a unique application_name per connection), stop remembering.</summary>
    public const int MaxValidatedSettings = 10_000;

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Protocol.ParameterTable> _sharedSettings = new(StringComparer.Ordinal);

    /// <summary>One table for all clients of this pool whose startup settings are equal (the common case: every
    /// instance of a service connects alike), so idle clients do not each hold a copy. The caller must never change
    /// the returned table (copy-on-write). Bounded like <see cref="ValidatedSettings"/>.</summary>
    public Protocol.ParameterTable ShareSettings(Protocol.ParameterTable settings)
    {
        var key = settings.ContentKey();
        if (_sharedSettings.TryGetValue(key, out var shared))
            return shared;
        return _sharedSettings.Count < MaxValidatedSettings ? _sharedSettings.GetOrAdd(key, settings) : settings;
    }

    /// <summary>ParameterStatus values reported by this pool's servers at startup; sent to logging-in clients.</summary>
    public IReadOnlyList<KeyValuePair<string, string>>? ServerParameters { get; set; }

    /// <summary>The session layer's encoding of the last welcome it sent to a client of this pool (see
    /// ClientSession.WelcomeAsync), kept here so it is made once per pool and settings, not once per login.</summary>
    internal object? WelcomeCache;

    /// <summary>Clients pinned to their server right now (<see cref="TryPin"/>).</summary>
    public int Pinned => Volatile.Read(ref _pinned);

    /// <summary>Counts a client that keeps its server until it disconnects; false once
    /// <see cref="PoolSettings.MaxPinned"/> clients are pinned, so pinned clients can never take every server.</summary>
    public bool TryPin()
    {
        while (true)
        {
            var pinned = Volatile.Read(ref _pinned);
            if (pinned >= Settings.MaxPinned)
                return false;
            if (Interlocked.CompareExchange(ref _pinned, pinned + 1, pinned) == pinned)
                return true;
        }
    }

    public void Unpin() => Interlocked.Decrement(ref _pinned);

    public PoolCounts Counts
    {
        get { using (_group.Lock()) return new PoolCounts(_active, _idle.Count, _total - _active - _idle.Count, _waiting); }
    }

    /// <summary>The database group this pool belongs to (its cap and pause state).</summary>
    public DatabaseGroup Group => _group;

    /// <summary>Servers opened before the current generation are closed when they come back (never mid-transaction).</summary>
    public int Generation => Volatile.Read(ref _generation);

    /// <summary>Set when the pool's database left the configuration: servers are closed as they come back.</summary>
    public bool Retired { get; private set; }

    /// <summary>The idle servers right now, most recently used last (for SHOW SERVERS).</summary>
    public IReadOnlyList<IPooledConnection> IdleSnapshot()
    {
        using (_group.Lock()) return [.. _idle];
    }

    /// <summary>Rents a server: the most recently returned idle one, else a new one under the caps, else waits
    /// in line until one is returned or <see cref="PoolSettings.QueryWait"/> passes.</summary>
    public ValueTask<IPooledConnection> RentAsync(CancellationToken cancellationToken = default)
    {
        List<IPooledConnection>? unusable = null;
        IPooledConnection? evicted = null;
        IPooledConnection? idle = null;
        bool open = false;
        PoolWaiter? waiter = null;
        using (_group.Lock())
        {
            while (_idle.Count > 0)
            {
                var candidate = _idle[^1];
                _idle.RemoveAt(_idle.Count - 1);
                if (IsReusable(candidate))
                {
                    idle = candidate;
                    _active++;
                    break;
                }
                ForgetLocked();
                (unusable ??= []).Add(candidate);
            }
            if (idle is null)
            {
                if (TryReserveLocked(mayEvict: true, out evicted))
                {
                    open = true;
                    _active++;
                }
                else
                {
                    waiter = PoolWaiter.Rent(_time.GetTimestamp());
                    _waiters.Enqueue(waiter);
                    _waiting++;
                }
            }
        }

        if (unusable is not null)
            CloseAll(unusable, DisconnectReason.Unusable);
        evicted?.Close(DisconnectReason.Evicted);
        if (idle is not null)
            return ValueTask.FromResult(idle);
        if (open)
            return new ValueTask<IPooledConnection>(OpenForRenterAsync(cancellationToken));
        // The hot path passes no token: its wait ends by a hand-out, by query_wait (Sweep) or by shutdown
        // (AbandonWaiters), with no timer or registration per wait.
        return cancellationToken.CanBeCanceled
            ? new ValueTask<IPooledConnection>(WaitAsync(waiter!, cancellationToken))
            : waiter!.Task;
    }

    /// <summary>Gives back a clean server (transaction finished, nothing owed).</summary>
    public void Return(IPooledConnection connection)
    {
        if (Expired(connection))
        {
            Discard(connection, DisconnectReason.Lifetime);
            return;
        }
        if (!connection.CheckUsable())
        {
            // Closed, or sent something after its last ReadyForQuery (a notification, a FATAL): not for the next client.
            Discard(connection, DisconnectReason.Unusable);
            return;
        }
        if (connection.Generation != Generation || Retired)
        {
            // RECONNECT, a changed server address or a removed database: retired now that its transaction is over.
            Discard(connection, DisconnectReason.Retired);
            return;
        }
        List<ServerPool>? toOpen = null;
        IPooledConnection? toClose;
        PoolWaiter? next = null;
        var reason = DisconnectReason.Evicted;
        using (_group.Lock())
        {
            _active--;
            if (_total > Settings.Size)
            {
                // The pool was made smaller by a reload: shrink as servers come back, never mid-transaction.
                ForgetLocked();
                toClose = connection;
                reason = DisconnectReason.Retired;
            }
            else
                toClose = HandOutLocked(connection, ref toOpen, out next);
        }
        toClose?.Close(reason);
        OpenForWaiters(toOpen);
        next?.Give(connection); // last: the next client's transaction may run on this thread from here
    }

    /// <summary>Closes a rented server that cannot be reused, and lets a waiter open a replacement.</summary>
    public void Discard(IPooledConnection connection, DisconnectReason reason)
    {
        connection.Close(reason);
        List<ServerPool>? toOpen = null;
        using (_group.Lock())
        {
            _active--;
            ForgetLocked();
            _group.OfferFreedSlotLocked(ref toOpen);
        }
        OpenForWaiters(toOpen);
    }

    /// <summary>Closes idle servers past server_idle or server_lifetime, opens servers up to min_size, and fails
    /// waiters past query_wait. Called by <see cref="PoolJanitor"/> about once a second, so query_wait is enforced
    /// to within a second (PgBouncer's janitor does the same).</summary>
    public void Sweep()
    {
        var toClose = new List<IPooledConnection>(0);
        List<ServerPool>? others = null;
        List<PoolWaiter>? timedOut = null;
        var toOpen = 0;
        using (_group.Lock())
        {
            // Oldest idle first (bottom of the stack): those are the ones LIFO reuse leaves to expire.
            for (var i = 0; i < _idle.Count;)
            {
                var c = _idle[i];
                var idleTooLong = Settings.ServerIdle > TimeSpan.Zero && _time.GetElapsedTime(c.IdleSinceTimestamp) > Settings.ServerIdle;
                if (idleTooLong || Expired(c) || !c.CheckUsable())
                {
                    _idle.RemoveAt(i);
                    ForgetLocked();
                    toClose.Add(c);
                }
                else i++;
            }
            while (_total < Settings.MinSize && TryReserveLocked(mayEvict: false, out _))
                toOpen++;
            if (_waiting > 0 && Settings.QueryWait > TimeSpan.Zero)
            {
                foreach (var waiter in _waiters)
                {
                    if (_time.GetElapsedTime(waiter.Since) >= Settings.QueryWait && waiter.TryClaimLocked())
                    {
                        _waiting--;
                        (timedOut ??= []).Add(waiter);
                    }
                }
            }
            if (toClose.Count > 0)
                _group.OfferFreedSlotLocked(ref others); // slots freed at the database cap go to whoever waits
        }
        CloseAll(toClose, DisconnectReason.IdleTimeout);
        if (timedOut is not null)
        {
            foreach (var waiter in timedOut)
                waiter.Fail(new PoolWaitTimeoutException(Key, Settings.QueryWait, Settings.Size));
        }
        for (var i = 0; i < toOpen; i++)
            _ = OpenForWaiterAsync();
        OpenForWaiters(others);
    }

    /// <summary>Applies new settings (reload). A bigger size lets waiters open servers at once; a smaller one closes
    /// surplus idle servers now and busy ones as they come back.</summary>
    public void UpdateSettings(PoolSettings settings)
    {
        List<IPooledConnection>? surplus = null;
        List<ServerPool>? toOpen = null;
        using (_group.Lock())
        {
            Settings = settings;
            while (_total > settings.Size && _idle.Count > 0)
            {
                (surplus ??= []).Add(_idle[0]); // least recently used first
                _idle.RemoveAt(0);
                ForgetLocked();
            }
            for (var i = _waiting; i > 0 && TryReserveForWaiterLocked(); i--)
                (toOpen ??= []).Add(this);
            if (surplus is not null)
                _group.OfferFreedSlotLocked(ref toOpen);
        }
        if (surplus is not null)
            CloseAll(surplus, DisconnectReason.Retired);
        OpenForWaiters(toOpen);
    }

    /// <summary>New servers are opened with the current configuration; older ones are closed: idle ones now, busy
    /// ones when their transaction is over (RECONNECT, a changed server address).</summary>
    public void BumpGeneration()
    {
        Interlocked.Increment(ref _generation);
        CloseIdle(DisconnectReason.Retired);
    }

    /// <summary>The database left the configuration: idle servers close now, busy ones as they come back.</summary>
    public void Retire()
    {
        Retired = true;
        CloseIdle(DisconnectReason.Retired);
    }

    /// <summary>The database came back in a later reload: serve again, with servers opened from now on (any still
    /// out from before its removal are retired by generation as they return).</summary>
    public void Reinstate()
    {
        if (!Retired)
            return;
        Interlocked.Increment(ref _generation);
        Retired = false;
    }

    /// <summary>Closes every idle server (shutdown, RECONNECT).</summary>
    public void CloseIdle(DisconnectReason reason)
    {
        List<IPooledConnection> toClose;
        using (_group.Lock())
        {
            toClose = [.. _idle];
            foreach (var _ in _idle) ForgetLocked();
            _idle.Clear();
        }
        CloseAll(toClose, reason);
    }

    // ---- internals; *Locked methods run under the group lock (_group.Lock()) ----

    internal bool TryEvictIdleLocked(out IPooledConnection victim)
    {
        if (_idle.Count == 0)
        {
            victim = null!;
            return false;
        }
        victim = _idle[0]; // the least recently used
        _idle.RemoveAt(0);
        _total--;          // the group's count moves to the requester
        return true;
    }

    internal bool TryReserveForWaiterLocked()
    {
        return _waiting > 0 && TryReserveLocked(mayEvict: false, out _);
    }

    private bool TryReserveLocked(bool mayEvict, out IPooledConnection? evicted)
    {
        evicted = null;
        if (_total >= Settings.Size)
            return false;
        if (!_group.TryReserve(this, mayEvict, out evicted))
            return false;
        _total++;
        return true;
    }

    private void ForgetLocked()
    {
        _total--;
        _group.Release();
    }

    internal int WaitingLocked => _waiting;

    /// <summary>A server is free: the first live waiter gets it (<paramref name="waiter"/>); else, when the database cap keeps another user's
    /// clients waiting, it is closed to give them the slot (returned for the caller to close); else it goes on top
    /// of the idle stack.</summary>
    private IPooledConnection? HandOutLocked(IPooledConnection connection, ref List<ServerPool>? toOpen, out PoolWaiter? waiter)
    {
        waiter = DequeueLiveLocked();
        if (waiter is not null)
        {
            _active++;
            return null; // the caller gives the server to the waiter once the lock is released
        }
        if (_group.OthersWaitAtCapLocked(this))
        {
            ForgetLocked();
            _group.OfferFreedSlotLocked(ref toOpen);
            return connection;
        }
        connection.IdleSinceTimestamp = _time.GetTimestamp();
        _idle.Add(connection);
        return null;
    }

    private static void FinishHandOut(IPooledConnection? toClose, List<ServerPool>? toOpen)
    {
        toClose?.Close(DisconnectReason.Evicted);
        OpenForWaiters(toOpen);
    }

    private static void OpenForWaiters(List<ServerPool>? pools)
    {
        if (pools is null)
            return;
        foreach (var pool in pools)
            _ = pool.OpenForWaiterAsync();
    }

    private bool IsReusable(IPooledConnection c) => !Expired(c) && c.CheckUsable();

    private bool Expired(IPooledConnection c) =>
        Settings.ServerLifetime > TimeSpan.Zero && _time.GetElapsedTime(c.CreatedTimestamp) > Settings.ServerLifetime;

    private async Task<IPooledConnection> OpenForRenterAsync(CancellationToken cancellationToken)
    {
        try
        {
            var opened = await _connect(cancellationToken).ConfigureAwait(false);
            opened.Generation = Generation;
            return opened;
        }
        catch
        {
            List<ServerPool>? toOpen = null;
            using (_group.Lock())
            {
                _active--;
                ForgetLocked();
                _group.OfferFreedSlotLocked(ref toOpen);
            }
            OpenForWaiters(toOpen);
            throw;
        }
    }

    /// <summary>Opens a server for whoever waits (or for the idle stack, for min_size); a slot is already reserved.
    /// If it fails, the first waiter gets the error rather than waiting out query_wait.</summary>
    internal async Task OpenForWaiterAsync()
    {
        IPooledConnection connection;
        try
        {
            connection = await _connect(CancellationToken.None).ConfigureAwait(false);
            connection.Generation = Generation;
        }
        catch (Exception ex)
        {
            PoolWaiter? first;
            using (_group.Lock())
            {
                ForgetLocked();
                first = DequeueLiveLocked();
            }
            first?.Fail(ex);
            return;
        }
        List<ServerPool>? toOpen = null;
        IPooledConnection? toClose;
        PoolWaiter? next;
        using (_group.Lock())
            toClose = HandOutLocked(connection, ref toOpen, out next);
        FinishHandOut(toClose, toOpen);
        next?.Give(connection);
    }

    /// <summary>A wait that <paramref name="cancellationToken"/> may also end (logins, auth_query: not the hot path).</summary>
    private async Task<IPooledConnection> WaitAsync(PoolWaiter waiter, CancellationToken cancellationToken)
    {
        await using (cancellationToken.Register(() => Abandon(waiter, new OperationCanceledException(cancellationToken))).ConfigureAwait(false))
            return await waiter.Task.ConfigureAwait(false);
    }

    /// <summary>Ends every wait in this pool with <paramref name="error"/> (shutdown).</summary>
    public void AbandonWaiters(Exception error)
    {
        List<PoolWaiter>? abandoned = null;
        using (_group.Lock())
        {
            while (DequeueLiveLocked() is { } waiter)
                (abandoned ??= []).Add(waiter);
        }
        if (abandoned is not null)
            foreach (var waiter in abandoned)
                waiter.Fail(error);
    }

    /// <summary>The first waiter not yet claimed (timed out, cancelled), claimed for the caller.</summary>
    private PoolWaiter? DequeueLiveLocked()
    {
        while (_waiters.TryDequeue(out var waiter))
        {
            if (waiter.TryClaimLocked())
            {
                _waiting--;
                return waiter;
            }
        }
        return null;
    }

    private void Abandon(PoolWaiter waiter, Exception error)
    {
        using (_group.Lock())
        {
            if (!waiter.TryClaimLocked())
                return;
            _waiting--;
        }
        waiter.Fail(error);
    }

    private static void CloseAll(List<IPooledConnection> connections, DisconnectReason reason)
    {
        foreach (var c in connections)
            c.Close(reason);
    }
}

/// <summary>A consistent read of a pool's counters (for admin and metrics).</summary>
public readonly record struct PoolCounts(int Active, int Idle, int Opening, int Waiting);
