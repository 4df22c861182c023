// The replies to the Parse and Close messages the pooler sent on a client's behalf, in order. ParseComplete and
// CloseComplete carry no name, so the pump matches them to this queue to know which are the pooler's own (to
// drop), which answer the client (to forward), and which stand for a Parse the server did not need.
namespace Tuki.Pool.Pooler.Statements;

public enum ReplyAction : byte
{
    /// <summary>The client's own message: forward the reply.</summary>
    Forward,
    /// <summary>The pooler's own Parse (statement missing on this server) or Close (cache eviction): drop it.</summary>
    Swallow,
    /// <summary>The client's Parse of a statement this server already had, sent as a no-op Close: the client gets
    /// the ParseComplete it expects in place of the CloseComplete.</summary>
    AnswerParse,
}

/// <param name="Reply">ParseComplete ('1') or CloseComplete ('3').</param>
/// <param name="Group">How many ReadyForQuery-producing messages were sent before this one in the binding: an error
/// in that group makes the server skip the message, and it is never answered.</param>
/// <param name="Statement">For a Parse actually sent, the statement to confirm (or forget) on this server; for an
/// eviction Close, the statement that stays on the server if the Close is skipped.</param>
/// <param name="ClientName">For the client's own Parse: its name, forgotten again if the Parse fails.</param>
public readonly record struct ExpectedReply(byte Reply, ReplyAction Action, long Group, PreparedStatement? Statement, byte[]? ClientName);
