package session

import (
	"encoding/binary"
	"errors"

	"github.com/inference-relay/relay/internal/content"
)

// The plaintext of one sealed message:
//
//	version (1) | role (1) | uvarint part count | parts…
//	part: kind (1) | flags (1, bit 0 = IsError) | 8 × (uvarint length | bytes)
//
// in the field order of [textFields]. The buffer is sized exactly before
// it is written, so that no append ever leaves a stale copy behind.
const codecVersion = 1

const flagIsError = 1

// textFields lists every content field of a Part, in wire order. It is the
// one place that knows them; a test fails if Part grows a field that is
// not here.
func textFields(p *content.Part) [8]*content.Text {
	return [8]*content.Text{&p.Text, &p.MediaType, &p.Data, &p.URL, &p.ToolID, &p.ToolName, &p.Args, &p.Signature}
}

var errFraming = errors.New("session: bad message framing")

// encodedSize is the exact length encode writes.
func encodedSize(m *content.Message) int {
	n := 2 + uvarintLen(uint64(len(m.Parts)))
	for i := range m.Parts {
		n += 2
		for _, f := range textFields(&m.Parts[i]) {
			n += uvarintLen(uint64(f.Len())) + f.Len()
		}
	}
	return n
}

// encode writes m into dst, which must be exactly encodedSize(m) long.
func encode(dst []byte, m *content.Message) {
	dst[0] = codecVersion
	dst[1] = byte(m.Role)
	off := 2 + binary.PutUvarint(dst[2:], uint64(len(m.Parts)))
	for i := range m.Parts {
		p := &m.Parts[i]
		dst[off] = byte(p.Kind)
		dst[off+1] = 0
		if p.IsError {
			dst[off+1] = flagIsError
		}
		off += 2
		for _, f := range textFields(p) {
			off += binary.PutUvarint(dst[off:], uint64(f.Len()))
			off += copy(dst[off:], f.Bytes())
		}
	}
	if off != len(dst) {
		panic("session: encodedSize and encode disagree")
	}
}

// decode reads a message from buf without copying: each Text is a
// capacity-limited slice of buf (so that appending to it reallocates
// rather than overwrite a neighbour), and the framing bytes are zeroed as
// they are read, so that wiping the message's Texts leaves buf all zero.
// On error buf is zeroed whole.
func decode(buf []byte) (content.Message, error) {
	m, err := decodeInPlace(buf)
	if err != nil {
		clear(buf)
		return content.Message{}, err
	}
	return m, nil
}

func decodeInPlace(buf []byte) (content.Message, error) {
	var m content.Message
	if len(buf) < 3 || buf[0] != codecVersion {
		return m, errFraming
	}
	m.Role = content.Role(buf[1])
	clear(buf[:2])
	off := 2
	n, err := readUvarint(buf, &off)
	// Each part takes at least 10 bytes: a bound before allocating.
	if err != nil || n > uint64(len(buf)-off)/10 {
		return m, errFraming
	}
	if n > 0 {
		m.Parts = make([]content.Part, n)
	}
	for i := range m.Parts {
		p := &m.Parts[i]
		if len(buf)-off < 2 {
			return m, errFraming
		}
		p.Kind = content.PartKind(buf[off])
		flags := buf[off+1]
		if flags&^flagIsError != 0 {
			return m, errFraming
		}
		p.IsError = flags&flagIsError != 0
		clear(buf[off : off+2])
		off += 2
		for _, f := range textFields(p) {
			l, err := readUvarint(buf, &off)
			if err != nil || l > uint64(len(buf)-off) {
				return m, errFraming
			}
			end := off + int(l)
			if l > 0 {
				*f = content.Of(buf[off:end:end])
			}
			off = end
		}
	}
	if off != len(buf) {
		return m, errFraming
	}
	return m, nil
}

// readUvarint reads at *off, zeroes the bytes read and advances *off.
func readUvarint(buf []byte, off *int) (uint64, error) {
	v, n := binary.Uvarint(buf[*off:])
	if n <= 0 {
		return 0, errFraming
	}
	clear(buf[*off : *off+n])
	*off += n
	return v, nil
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
