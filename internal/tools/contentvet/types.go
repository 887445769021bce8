package contentvet

import "go/types"

// ContentPath is the import path of the package whose types are content.
const ContentPath = "github.com/inference-relay/relay/internal/content"

// isContent reports whether t is a content type: an exported struct type of
// the content package, or a pointer, slice, array, map or channel of one
// (possibly behind a named type of its own).
func isContent(t types.Type) bool {
	for i := 0; i < 16 && t != nil; i++ { // bounded: types can be recursive
		t = types.Unalias(t)
		if n, ok := t.(*types.Named); ok {
			obj := n.Obj()
			if obj.Pkg() != nil && obj.Pkg().Path() == ContentPath && obj.Exported() {
				_, isStruct := n.Underlying().(*types.Struct)
				return isStruct
			}
		}
		switch u := t.Underlying().(type) {
		case *types.Pointer:
			t = u.Elem()
		case *types.Slice:
			t = u.Elem()
		case *types.Array:
			t = u.Elem()
		case *types.Chan:
			t = u.Elem()
		case *types.Map:
			if isContent(u.Key()) {
				return true
			}
			t = u.Elem()
		default:
			return false
		}
	}
	return false
}

// canCarry reports whether a value of type t can hold content bytes:
// strings, byte and rune slices, content types, empty interfaces, and
// containers or structs of those. Numbers, booleans and errors cannot; a
// value of such a type computed from content is metadata.
func canCarry(t types.Type) bool {
	return carries(t, make(map[types.Type]bool))
}

func carries(t types.Type, seen map[types.Type]bool) bool {
	if t == nil || seen[t] {
		return false
	}
	seen[t] = true
	if isContent(t) {
		return true
	}
	switch u := t.Underlying().(type) {
	case *types.Basic:
		return u.Info()&types.IsString != 0
	case *types.Slice:
		return isByteOrRune(u.Elem()) || carries(u.Elem(), seen)
	case *types.Array:
		return isByteOrRune(u.Elem()) || carries(u.Elem(), seen)
	case *types.Pointer:
		return carries(u.Elem(), seen)
	case *types.Chan:
		return carries(u.Elem(), seen)
	case *types.Map:
		return carries(u.Key(), seen) || carries(u.Elem(), seen)
	case *types.Interface:
		return u.Empty()
	case *types.Struct:
		for i := 0; i < u.NumFields(); i++ {
			if carries(u.Field(i).Type(), seen) {
				return true
			}
		}
	}
	return false
}

func isByteOrRune(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && (b.Kind() == types.Byte || b.Kind() == types.Rune)
}

// isBytes reports whether t is a byte or rune slice, the operand of a
// string conversion that rule 2 watches.
func isBytes(t types.Type) bool {
	s, ok := t.Underlying().(*types.Slice)
	return ok && isByteOrRune(s.Elem())
}

func isString(t types.Type) bool {
	b, ok := t.Underlying().(*types.Basic)
	return ok && b.Info()&types.IsString != 0
}
