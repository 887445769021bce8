package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Limits on what ReadMetadata keeps in memory. Values it does not keep are
// skipped by reading, so a header that claims huge arrays costs reading
// time bounded by the input, never memory.
const (
	maxKeyLen      = 1 << 16 // GGUF keys are at most 65535 bytes
	maxKeptString  = 1 << 20 // a chat template can be tens of KiB; 1 MiB is ample
	maxCtxKeys     = 64      // "<arch>.context_length" candidates remembered
	maxStringSkip  = 1 << 40 // a string length beyond this is corrupt, not large
	contextLenName = ".context_length"
)

// ErrFormat is wrapped by every error ReadMetadata returns for input that
// is not a well-formed GGUF header.
var ErrFormat = errors.New("gguf: malformed file")

// Metadata is what the relay needs to know about a model file before
// serving it.
type Metadata struct {
	Version     uint32
	TensorCount uint64
	KVCount     uint64
	// Architecture is general.architecture ("llama", "qwen2", ...).
	Architecture string
	// Name and Description are general.name and general.description.
	Name        string
	Description string
	// ContextLength is <Architecture>.context_length, the context the
	// model was trained with; 0 when the file does not say.
	ContextLength uint64
	// ChatTemplate is tokenizer.chat_template (Jinja source), or "".
	ChatTemplate string
}

// ReadMetadataFile opens path and reads its metadata.
func ReadMetadataFile(path string) (*Metadata, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadMetadata(f)
}

// ReadMetadata reads the header and metadata key/values of a GGUF file
// (versions 2 and 3, little-endian) and stops before the tensor infos.
func ReadMetadata(r io.Reader) (*Metadata, error) {
	d := &decoder{r: bufio.NewReaderSize(r, 1<<16)}
	magic := d.bytes(4)
	if d.err == nil && string(magic) != Magic {
		return nil, fmt.Errorf("%w: not a GGUF file", ErrFormat)
	}
	m := &Metadata{Version: d.u32()}
	if d.err == nil && m.Version != 2 && m.Version != 3 {
		return nil, fmt.Errorf("%w: unsupported version %d", ErrFormat, m.Version)
	}
	m.TensorCount = d.u64()
	m.KVCount = d.u64()
	ctxLens := map[string]uint64{}
	for i := uint64(0); i < m.KVCount && d.err == nil; i++ {
		key := d.str(maxKeyLen)
		t := ValueType(d.u32())
		if d.err != nil {
			break
		}
		switch {
		case key == "general.architecture" && t == TypeString:
			m.Architecture = d.str(maxKeptString)
		case key == "general.name" && t == TypeString:
			m.Name = d.str(maxKeptString)
		case key == "general.description" && t == TypeString:
			m.Description = d.str(maxKeptString)
		case key == "tokenizer.chat_template" && t == TypeString:
			m.ChatTemplate = d.str(maxKeptString)
		case strings.HasSuffix(key, contextLenName) && len(ctxLens) < maxCtxKeys:
			if n, ok := d.integer(t); ok {
				ctxLens[strings.TrimSuffix(key, contextLenName)] = n
			}
		default:
			d.skip(t, true)
		}
	}
	if d.err != nil {
		if errors.Is(d.err, io.EOF) || errors.Is(d.err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: truncated", ErrFormat)
		}
		return nil, d.err
	}
	if m.Architecture != "" {
		m.ContextLength = ctxLens[m.Architecture]
	}
	return m, nil
}

// decoder reads little-endian GGUF primitives and remembers the first
// error; every read after it returns zero values.
type decoder struct {
	r   *bufio.Reader
	err error
	buf [8]byte
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
	}
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil {
		return nil
	}
	var b []byte
	if n <= len(d.buf) {
		b = d.buf[:n]
	} else {
		b = make([]byte, n)
	}
	_, d.err = io.ReadFull(d.r, b)
	return b
}

func (d *decoder) u8() uint8 {
	b := d.bytes(1)
	if d.err != nil {
		return 0
	}
	return b[0]
}

func (d *decoder) u16() uint16 {
	b := d.bytes(2)
	if d.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint16(b)
}

func (d *decoder) u32() uint32 {
	b := d.bytes(4)
	if d.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b)
}

func (d *decoder) u64() uint64 {
	b := d.bytes(8)
	if d.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint64(b)
}

// str reads a string it keeps, refusing one longer than limit.
func (d *decoder) str(limit int) string {
	n := d.u64()
	if d.err != nil {
		return ""
	}
	if n > uint64(limit) {
		d.fail("string of %d bytes exceeds %d", n, limit)
		return ""
	}
	return string(d.bytes(int(n)))
}

// discard skips n bytes without keeping them.
func (d *decoder) discard(n uint64) {
	if d.err != nil {
		return
	}
	if n > maxStringSkip {
		d.fail("length %d out of range", n)
		return
	}
	var got int64
	got, d.err = io.CopyN(io.Discard, d.r, int64(n))
	if d.err == nil && uint64(got) != n {
		d.err = io.ErrUnexpectedEOF
	}
}

// size is the encoded size of a fixed-size type, 0 for the others.
func size(t ValueType) uint64 {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// skip reads past one value of type t. Arrays may not nest (llama.cpp's
// reader refuses them too), which also bounds the recursion.
func (d *decoder) skip(t ValueType, top bool) {
	if s := size(t); s > 0 {
		d.discard(s)
		return
	}
	switch t {
	case TypeString:
		d.discard(d.u64())
	case TypeArray:
		if !top {
			d.fail("nested array")
			return
		}
		et := ValueType(d.u32())
		n := d.u64()
		if d.err != nil {
			return
		}
		if s := size(et); s > 0 {
			if n > maxStringSkip/s {
				d.fail("array of %d elements out of range", n)
				return
			}
			d.discard(n * s)
			return
		}
		if et != TypeString && et != TypeArray {
			d.fail("unknown array element type %d", et)
			return
		}
		// Each element consumes at least eight bytes, so this loop ends at
		// the end of the input however large n claims to be.
		for i := uint64(0); i < n && d.err == nil; i++ {
			d.skip(et, false)
		}
	default:
		d.fail("unknown value type %d", t)
	}
}

// integer reads a value of any integer type as a non-negative number; other
// types are skipped and reported as not ok.
func (d *decoder) integer(t ValueType) (uint64, bool) {
	var v int64
	switch t {
	case TypeUint8:
		return uint64(d.u8()), d.err == nil
	case TypeUint16:
		return uint64(d.u16()), d.err == nil
	case TypeUint32:
		return uint64(d.u32()), d.err == nil
	case TypeUint64:
		return d.u64(), d.err == nil
	case TypeInt8:
		v = int64(int8(d.u8()))
	case TypeInt16:
		v = int64(int16(d.u16()))
	case TypeInt32:
		v = int64(int32(d.u32()))
	case TypeInt64:
		v = int64(d.u64())
	default:
		d.skip(t, true)
		return 0, false
	}
	if d.err != nil || v < 0 {
		return 0, false
	}
	return uint64(v), true
}
