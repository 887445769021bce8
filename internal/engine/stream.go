package engine

import (
	"bytes"
	"unicode/utf8"
)

// streamer sits between the sampled pieces and the caller's emit: it holds
// back the tail that could still become a stop sequence or that ends in
// the middle of a UTF-8 character, cuts the text at the first stop
// sequence, and passes everything else on as soon as it is safe.
//
// No stop sequence can start in text already emitted: text is emitted only
// once no suffix of it is a prefix of a stop sequence.
type streamer struct {
	stops   [][]byte
	emit    func([]byte) error
	pending []byte
}

// write adds piece and emits what is safe. It returns the index of the stop
// sequence that matched, or -1; after a match nothing more is emitted.
func (s *streamer) write(piece []byte) (int, error) {
	s.pending = append(s.pending, piece...)
	stop, at := -1, len(s.pending)
	for i, seq := range s.stops {
		if j := bytes.Index(s.pending[:min(len(s.pending), at+len(seq)-1)], seq); j >= 0 && j < at {
			stop, at = i, j
		}
	}
	if stop >= 0 {
		err := s.out(s.pending[:at])
		s.pending = s.pending[:0]
		return stop, err
	}
	n := len(s.pending) - s.holdBack()
	if n == 0 {
		return -1, nil
	}
	err := s.out(s.pending[:n])
	s.pending = s.pending[:copy(s.pending, s.pending[n:])]
	return -1, err
}

// flush emits everything held back, at the end of generation.
func (s *streamer) flush() error {
	err := s.out(s.pending)
	s.pending = s.pending[:0]
	return err
}

func (s *streamer) out(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	return s.emit(b)
}

// holdBack is how many trailing bytes of pending must wait: the longest
// suffix that is a proper prefix of a stop sequence, or an unfinished
// UTF-8 character, whichever is longer.
func (s *streamer) holdBack() int {
	hold := 0
	for _, seq := range s.stops {
		for k := min(len(seq)-1, len(s.pending)); k > hold; k-- {
			if bytes.HasSuffix(s.pending, seq[:k]) {
				hold = k
				break
			}
		}
	}
	return max(hold, partialRune(s.pending))
}

// partialRune is the length of an unfinished UTF-8 encoding at the end of
// b: a lead byte followed by fewer continuation bytes than it announces.
// Invalid bytes are not held: waiting would not make them valid.
func partialRune(b []byte) int {
	for k := 1; k <= min(utf8.UTFMax-1, len(b)); k++ {
		c := b[len(b)-k]
		if c < 0x80 {
			return 0 // ASCII: complete
		}
		if c >= 0xC0 { // a lead byte
			need := 2
			if c >= 0xE0 {
				need = 3
			}
			if c >= 0xF0 {
				need = 4
			}
			if c >= 0xF8 || need <= k {
				return 0 // invalid lead, or complete
			}
			if utf8.FullRune(b[len(b)-k:]) {
				return 0 // invalid continuation: FullRune sees an error rune
			}
			return k
		}
	}
	return 0
}
