package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// Version is the GGUF version Write produces.
const Version = 3

// Alignment is the alignment, in bytes, of the tensor data section and of
// every tensor in it. llama.cpp assumes 32 unless general.alignment says
// otherwise; Write always uses 32 and refuses another general.alignment.
const Alignment = 32

// maxTensorName is GGML_MAX_NAME (64) less the terminating NUL.
const maxTensorName = 63

// maxDims is GGML_MAX_DIMS.
const maxDims = 4

// ValueType is the type tag of a metadata value, as stored in the file.
type ValueType uint32

// The GGUF value types, in their on-disk numbering.
const (
	TypeUint8 ValueType = iota
	TypeInt8
	TypeUint16
	TypeInt16
	TypeUint32
	TypeInt32
	TypeFloat32
	TypeBool
	TypeString
	TypeArray
	TypeUint64
	TypeInt64
	TypeFloat64
)

// ggmlTypeF32 is the ggml tensor type of 32-bit floats.
const ggmlTypeF32 = 0

// KV is one metadata key/value pair. Value is a uint8, int8, uint16, int16,
// uint32, int32, float32, bool, string, uint64, int64 or float64, or a slice
// of one of them (an array).
type KV struct {
	Key   string
	Value any
}

// Tensor is one F32 tensor. Shape is in ggml order: Shape[0] is the
// dimension whose elements are adjacent in Data (a matrix with n_in inputs
// and n_out outputs has Shape {n_in, n_out}).
type Tensor struct {
	Name  string
	Shape []uint64
	Data  []float32
}

// elements is the product of t's shape, or an error when it overflows.
func (t *Tensor) elements() (uint64, error) {
	n := uint64(1)
	for _, d := range t.Shape {
		if d == 0 {
			return 0, errors.New("gguf: tensor dimension is zero")
		}
		if n > math.MaxUint64/d {
			return 0, errors.New("gguf: tensor shape overflows")
		}
		n *= d
	}
	return n, nil
}

// Write writes a GGUF v3 file holding kvs (in order) and tensors (in
// order, each aligned to [Alignment]).
func Write(w io.Writer, kvs []KV, tensors []Tensor) error {
	if err := validate(kvs, tensors); err != nil {
		return err
	}
	e := &encoder{w: bufio.NewWriterSize(w, 1<<16)}
	e.raw([]byte(Magic))
	e.u32(Version)
	e.u64(uint64(len(tensors)))
	e.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		e.str(kv.Key)
		e.value(kv.Value, true)
	}
	var offset uint64
	for _, t := range tensors {
		e.str(t.Name)
		e.u32(uint32(len(t.Shape)))
		for _, d := range t.Shape {
			e.u64(d)
		}
		e.u32(ggmlTypeF32)
		e.u64(offset)
		offset = alignUp(offset + 4*uint64(len(t.Data)))
	}
	e.pad()
	for _, t := range tensors {
		e.floats(t.Data)
		e.pad()
	}
	if e.err != nil {
		return e.err
	}
	return e.w.Flush()
}

func validate(kvs []KV, tensors []Tensor) error {
	keys := make(map[string]bool, len(kvs))
	for i, kv := range kvs {
		if kv.Key == "" || len(kv.Key) > math.MaxUint16 {
			return fmt.Errorf("gguf: key %d: length out of range", i)
		}
		if keys[kv.Key] {
			return fmt.Errorf("gguf: duplicate key %q", kv.Key)
		}
		keys[kv.Key] = true
		if _, err := typeOf(kv.Value, true); err != nil {
			return fmt.Errorf("gguf: key %q: %w", kv.Key, err)
		}
		if kv.Key == "general.alignment" && kv.Value != any(uint32(Alignment)) {
			return errors.New("gguf: general.alignment must be uint32(32)")
		}
	}
	names := make(map[string]bool, len(tensors))
	for i := range tensors {
		t := &tensors[i]
		if t.Name == "" || len(t.Name) > maxTensorName {
			return fmt.Errorf("gguf: tensor %d: name length out of range", i)
		}
		if names[t.Name] {
			return fmt.Errorf("gguf: duplicate tensor %q", t.Name)
		}
		names[t.Name] = true
		if len(t.Shape) == 0 || len(t.Shape) > maxDims {
			return fmt.Errorf("gguf: tensor %q: %d dimensions", t.Name, len(t.Shape))
		}
		n, err := t.elements()
		if err != nil {
			return fmt.Errorf("gguf: tensor %q: %w", t.Name, err)
		}
		if n != uint64(len(t.Data)) {
			return fmt.Errorf("gguf: tensor %q: shape holds %d elements, data %d", t.Name, n, len(t.Data))
		}
	}
	return nil
}

// typeOf maps a Go value to its GGUF type; arrays are allowed only at the
// top level (llama.cpp does not read nested arrays).
func typeOf(v any, top bool) (ValueType, error) {
	switch v.(type) {
	case uint8:
		return TypeUint8, nil
	case int8:
		return TypeInt8, nil
	case uint16:
		return TypeUint16, nil
	case int16:
		return TypeInt16, nil
	case uint32:
		return TypeUint32, nil
	case int32:
		return TypeInt32, nil
	case float32:
		return TypeFloat32, nil
	case bool:
		return TypeBool, nil
	case string:
		return TypeString, nil
	case uint64:
		return TypeUint64, nil
	case int64:
		return TypeInt64, nil
	case float64:
		return TypeFloat64, nil
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []float32, []bool, []string, []uint64, []int64, []float64:
		if !top {
			return 0, errors.New("nested arrays are not supported")
		}
		return TypeArray, nil
	}
	return 0, fmt.Errorf("unsupported value type %T", v)
}

func alignUp(n uint64) uint64 { return (n + Alignment - 1) &^ (Alignment - 1) }

// encoder writes little-endian GGUF primitives and remembers the first
// error, so Write reads as the format does.
type encoder struct {
	w   *bufio.Writer
	n   uint64 // bytes written, for padding
	err error
	buf [8]byte
}

func (e *encoder) raw(b []byte) {
	if e.err != nil {
		return
	}
	_, e.err = e.w.Write(b)
	e.n += uint64(len(b))
}

func (e *encoder) u8(v uint8)   { e.raw([]byte{v}) }
func (e *encoder) u16(v uint16) { binary.LittleEndian.PutUint16(e.buf[:], v); e.raw(e.buf[:2]) }
func (e *encoder) u32(v uint32) { binary.LittleEndian.PutUint32(e.buf[:], v); e.raw(e.buf[:4]) }
func (e *encoder) u64(v uint64) { binary.LittleEndian.PutUint64(e.buf[:], v); e.raw(e.buf[:8]) }

func (e *encoder) str(s string) {
	e.u64(uint64(len(s)))
	e.raw([]byte(s))
}

func (e *encoder) pad() {
	if r := e.n % Alignment; r != 0 {
		e.raw(make([]byte, Alignment-r))
	}
}

func (e *encoder) floats(data []float32) {
	var chunk [4 * 1024]byte
	for len(data) > 0 {
		n := min(len(data), len(chunk)/4)
		for i, f := range data[:n] {
			binary.LittleEndian.PutUint32(chunk[4*i:], math.Float32bits(f))
		}
		e.raw(chunk[:4*n])
		data = data[n:]
	}
}

// value writes v, preceded by its type tag when tagged (array elements are
// untagged: the array header names their type once).
func (e *encoder) value(v any, tagged bool) {
	t, _ := typeOf(v, true) // validated by the caller
	if tagged {
		e.u32(uint32(t))
	}
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case []uint8:
		array(e, TypeUint8, x)
	case []int8:
		array(e, TypeInt8, x)
	case []uint16:
		array(e, TypeUint16, x)
	case []int16:
		array(e, TypeInt16, x)
	case []uint32:
		array(e, TypeUint32, x)
	case []int32:
		array(e, TypeInt32, x)
	case []float32:
		array(e, TypeFloat32, x)
	case []bool:
		array(e, TypeBool, x)
	case []string:
		array(e, TypeString, x)
	case []uint64:
		array(e, TypeUint64, x)
	case []int64:
		array(e, TypeInt64, x)
	case []float64:
		array(e, TypeFloat64, x)
	}
}

func array[T any](e *encoder, t ValueType, xs []T) {
	e.u32(uint32(t))
	e.u64(uint64(len(xs)))
	for _, x := range xs {
		e.value(x, false)
	}
}
