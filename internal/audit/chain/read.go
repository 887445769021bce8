package chain

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"os"
)

// maxLine bounds one record. Events are a few hundred bytes; anything far
// larger is not a record the relay wrote.
const maxLine = 64 << 10

var errLineTooLong = errors.New("chain: line too long")

// readLine returns the next line without its newline. complete is false for
// a last line with no newline. At the end of the file it returns io.EOF.
func readLine(br *bufio.Reader) (line []byte, complete bool, err error) {
	var buf []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(buf)+len(chunk) > maxLine+1 {
			return nil, false, errLineTooLong
		}
		buf = append(buf, chunk...)
		switch {
		case err == nil:
			return buf[:len(buf)-1], true, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			if len(buf) == 0 {
				return nil, false, io.EOF
			}
			return buf, false, nil
		default:
			return nil, false, err
		}
	}
}

// lastLines returns up to n complete lines from the end of f (without their
// newlines), reading backwards so that a long file costs only its tail.
// torn reports that the file does not end with a newline; that partial line
// is not among the lines returned.
func lastLines(f *os.File, n int) (lines [][]byte, torn bool, err error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, false, err
	}
	size := fi.Size()
	if size == 0 || n <= 0 {
		return nil, false, nil
	}
	const chunk = 64 << 10
	var buf []byte
	pos := size
	// Read until the buffer holds n+1 newlines (the one ending the line
	// before the first wanted one) or the whole file.
	for pos > 0 && bytes.Count(buf, []byte{'\n'}) <= n {
		step := min(int64(chunk), pos)
		pos -= step
		b := make([]byte, step, int(step)+len(buf))
		if _, err := f.ReadAt(b, pos); err != nil {
			return nil, false, err
		}
		buf = append(b, buf...)
	}
	if buf[len(buf)-1] != '\n' {
		torn = true
		buf = buf[:bytes.LastIndexByte(buf, '\n')+1] // drop the partial line
	}
	if len(buf) == 0 {
		return nil, torn, nil
	}
	all := bytes.Split(buf[:len(buf)-1], []byte{'\n'})
	if pos > 0 {
		all = all[1:] // the first piece may have started before pos
	}
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return all, torn, nil
}

func newReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, 64<<10) }
