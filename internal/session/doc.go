// Package session keeps client-named conversations in RAM, sealed, so that
// a client may send only its new turn (SPEC S3, C6).
//
// What it promises:
//
//   - Between requests the store holds no plaintext. Each message is
//     serialized into one exactly sized buffer, sealed with AES-256-GCM
//     under the session's own random 256-bit key (random 96-bit nonce, the
//     message's position as additional data, so that sealed messages cannot
//     be reordered or moved), and the plaintext buffer is zeroed at once.
//   - Keys live in a [memlock.Arena] slot (mlocked, MADV_DONTDUMP), never on
//     the Go heap. The AES key schedule and GHASH table that crypto/aes and
//     crypto/cipher compute on the heap are made per operation and zeroed
//     right after it.
//   - A session belongs to its owner, the API key that made it: the same
//     id under another owner is another session. Another owner cannot read,
//     append to or end it, and learns nothing of it: [Store.End] answers
//     [ErrNotFound] exactly as for an id nobody used.
//   - Session ids are never kept: the map is keyed by HMAC-SHA256 over the
//     length-prefixed (owner, id) under a random per-process key that
//     lives in the arena. A [WipeRecord] names a session by the first 8
//     hex digits of that hash only. Backends that keep their own
//     per-session state get [Store.Scope], another keyed hash of (owner,
//     id), never the id.
//   - Ids follow one rule, [ValidID]: 1-128 bytes of printable ASCII
//     other than space (0x21-0x7E); anything else is [ErrInvalidID].
//   - A wipe (End, idle timeout, shutdown, lockdown) overwrites every sealed
//     buffer with zeros, zeroes and frees the key slot and drops the
//     session; it returns a [WipeRecord] of metadata only.
//   - Decrypted history ([Turn.History]) lives in fresh buffers that the
//     caller may use for one upstream request; [Turn.Commit] and
//     [Turn.Abort] zero them.
//
// Memory-pressure policy: the store never evicts a live session to make
// room. A request that would exceed a limit is refused and nothing changes:
// a new session beyond MaxSessions (or beyond the key arena's free slots)
// gets [ErrTooMany], and one beyond its owner's share
// (MaxSessionsPerOwner, a quarter of MaxSessions by default) gets
// [ErrOwnerTooMany], so that one key cannot take every slot; a turn that
// would grow a session past MaxBytesPerSession, its owner's sessions past
// MaxBytesPerOwner, or the store past MaxTotalBytes, gets [ErrTooLarge]
// and the session keeps its previous state. Only sessions idle for
// IdleTimeout are reaped; a session whose turn is in progress is never
// idle. Sizes count the sealed bytes held (content plus 28 bytes of nonce
// and tag per message plus a few bytes of framing).
//
// Typical use by a front end:
//
//	t, err := store.Begin(keyID, id)   // ErrBusy, ErrTooMany, …: see HTTPStatus
//	if err != nil { … }
//	defer t.Abort()                    // no-op after Commit
//	if session.SealedSize(newMsgs...) > t.Room() { … 413 before going upstream }
//	req.Messages = append(slices.Clip(t.History()), newMsgs...)
//	params.Session = t.Scope()         // what a backend may know the session by
//	… stream the reply upstream, collect it into reply …
//	err = t.Commit(newMsgs, reply)     // before wiping the request; ErrTooLarge: tell the client
//
// Not covered: copies of content that other code makes (the JSON decoder's
// buffers, net/http's, the caller's own Request) are outside this store;
// the Go runtime does not zero freed heap memory.
package session
