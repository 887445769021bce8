package logging

import (
	"errors"
	"reflect"
	"sync"

	"github.com/inference-relay/relay/internal/logic"
)

// forbiddenPkgs hold the types whose values never reach a log. They are
// named by path so that this package need not import them.
var forbiddenPkgs = map[string]bool{
	"github.com/inference-relay/relay/internal/content": true,
	"github.com/inference-relay/relay/internal/secret":  true,
}

// verdicts caches, per type, whether its values may be logged.
var verdicts sync.Map // reflect.Type → typeVerdict

type typeVerdict struct {
	forbidden bool // a content or secret type is reachable inside
	opaque    bool // an interface, func, channel or unsafe pointer is
}

// safeType reports whether x's dynamic type does not reach a content or
// secret type. A nil x is safe.
func safeType(x any) bool {
	t := reflect.TypeOf(x)
	return t == nil || !verdict(t).forbidden
}

// safeAny reports whether x, a non-error value about to be written, is
// free of raw bytes and of parts whose dynamic type cannot be checked from
// the static one.
func safeAny(x any) bool {
	t := reflect.TypeOf(x)
	if t == nil {
		return true
	}
	if isBytes(t) {
		return false
	}
	return !verdict(t).opaque
}

// isBytes catches content's one way out (Text.Bytes) even once it lost its
// type: raw bytes are never metadata.
func isBytes(t reflect.Type) bool {
	return (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && t.Elem().Kind() == reflect.Uint8
}

func verdict(t reflect.Type) typeVerdict {
	if v, ok := verdicts.Load(t); ok {
		return v.(typeVerdict)
	}
	v := walk(t, map[reflect.Type]bool{})
	verdicts.Store(t, v)
	return v
}

// walk inspects t and every type inside it. Types already on the path are
// skipped: a recursive type adds nothing new the second time.
func walk(t reflect.Type, onPath map[reflect.Type]bool) typeVerdict {
	if onPath[t] {
		return typeVerdict{}
	}
	onPath[t] = true
	defer delete(onPath, t)

	var v typeVerdict
	if forbiddenPkgs[t.PkgPath()] {
		v.forbidden = true
	}
	merge := func(o typeVerdict) {
		v.forbidden = v.forbidden || o.forbidden
		v.opaque = v.opaque || o.opaque
	}
	switch t.Kind() {
	case reflect.Interface, reflect.Func, reflect.Chan, reflect.UnsafePointer:
		v.opaque = true
		if t.Kind() == reflect.Chan {
			merge(walk(t.Elem(), onPath))
		}
	case reflect.Pointer, reflect.Slice, reflect.Array:
		merge(walk(t.Elem(), onPath))
	case reflect.Map:
		merge(walk(t.Key(), onPath))
		merge(walk(t.Elem(), onPath))
	case reflect.Struct:
		for f := range t.Fields() {
			merge(walk(f.Type, onPath))
		}
	}
	return v
}

// classer is an error that names its own class.
type classer interface {
	error
	Class() string
}

// errorClasser is an error that carries a logic.ErrorClass.
type errorClasser interface {
	error
	ErrorClass() logic.ErrorClass
}

// errorClass renders err as a class name, never as its message.
func errorClass(err error) (class string) {
	defer func() {
		if recover() != nil { // a nil receiver, say
			class = "error"
		}
	}()
	if c, ok := errors.AsType[classer](err); ok {
		if s := c.Class(); validClass(s) {
			return s
		}
		return "error"
	}
	if c, ok := errors.AsType[errorClasser](err); ok {
		return c.ErrorClass().String()
	}
	return "error"
}

// validClass accepts short snake_case names only, so that a Class method
// cannot smuggle text.
func validClass(s string) bool {
	if len(s) == 0 || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
