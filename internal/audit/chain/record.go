package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
)

// Record is one line of the audit file.
type Record struct {
	Seq int64
	// Prev is, in a keyed record, the previous record's MAC (the chain's
	// id for the first); in an unkeyed one, hex SHA-256 of the previous
	// line.
	Prev  string
	Event json.RawMessage // the audit entry as JSON, exactly as written
	// Hash is the record's seal: hex HMAC-SHA256 under the audit key over
	// Seq, Prev and Event in a keyed record (written as "mac"), hex
	// SHA-256 over the same in an unkeyed one (written as "hash").
	Hash string
	// Keyed tells the two formats apart.
	Keyed bool
}

// genesisPrev is the Prev of the first record: there is no previous line.
const genesisPrev = "0000000000000000000000000000000000000000000000000000000000000000"

// recordHash is the record's own hash: hex(SHA-256(seq "|" prev "|" event)),
// seq in decimal without leading zeros, prev as its 64 hex digits and event
// as the exact bytes of the "event" value in the line.
func recordHash(seq int64, prev string, event []byte) string {
	h := sha256.New()
	h.Write(strconv.AppendInt(nil, seq, 10))
	h.Write([]byte{'|'})
	h.Write([]byte(prev))
	h.Write([]byte{'|'})
	h.Write(event)
	return hex.EncodeToString(h.Sum(nil))
}

// lineHash is hex(SHA-256(line)), line without its newline: the next
// record's Prev.
func lineHash(line []byte) string {
	s := sha256.Sum256(line)
	return hex.EncodeToString(s[:])
}

// appendLine appends the canonical form of r, without a newline:
// {"seq":N,"prev":"…","event":{…},"hash":"…"}.
func appendLine(dst []byte, r Record) []byte {
	dst = append(dst, `{"seq":`...)
	dst = strconv.AppendInt(dst, r.Seq, 10)
	dst = append(dst, `,"prev":"`...)
	dst = append(dst, r.Prev...)
	dst = append(dst, `","event":`...)
	dst = append(dst, r.Event...)
	if r.Keyed {
		dst = append(dst, `,"mac":"`...)
	} else {
		dst = append(dst, `,"hash":"`...)
	}
	dst = append(dst, r.Hash...)
	dst = append(dst, `"}`...)
	return dst
}

var errBadJSON = errors.New(ReasonBadJSON)

// parseLine decodes one line (without its newline), in either format. It
// accepts only the canonical form appendLine writes — fixed key order, no extra space or
// keys, lowercase hex — so a record has exactly one spelling.
func parseLine(line []byte) (Record, error) {
	var raw struct {
		Seq   *int64          `json:"seq"`
		Prev  *string         `json:"prev"`
		Event json.RawMessage `json:"event"`
		Hash  *string         `json:"hash"`
		MAC   *string         `json:"mac"`
	}
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		return Record{}, errBadJSON
	}
	if (raw.Hash == nil) == (raw.MAC == nil) {
		return Record{}, errBadJSON
	}
	seal, keyed := raw.Hash, false
	if raw.MAC != nil {
		seal, keyed = raw.MAC, true
	}
	if raw.Seq == nil || raw.Prev == nil || len(raw.Event) == 0 || raw.Event[0] != '{' {
		return Record{}, errBadJSON
	}
	r := Record{Seq: *raw.Seq, Prev: *raw.Prev, Event: raw.Event, Hash: *seal, Keyed: keyed}
	if r.Seq < 1 || !isHex64(r.Prev) || !isHex64(r.Hash) {
		return Record{}, errBadJSON
	}
	if !bytes.Equal(appendLine(make([]byte, 0, len(line)), r), line) {
		return Record{}, errBadJSON
	}
	return r, nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}
