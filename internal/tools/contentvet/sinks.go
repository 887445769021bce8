package contentvet

import (
	"go/types"
	"strings"
)

// sinkName returns a short name for fn ("fmt.Sprintf", "slog.Logger.Info")
// when content must not be passed to it.
func sinkName(obj types.Object) (string, bool) {
	switch obj := obj.(type) {
	case *types.Builtin:
		switch obj.Name() {
		case "print", "println", "panic":
			return obj.Name(), true
		}
	case *types.Func:
		if obj.Pkg() == nil || !isSinkPackage(obj.Pkg().Path(), obj.Name()) {
			return "", false
		}
		return funcName(obj), true
	}
	return "", false
}

func isSinkPackage(path, name string) bool {
	switch {
	case path == "fmt", path == "log", strings.HasPrefix(path, "log/"):
		return true
	case path == "errors":
		return name == "New" || name == "Join"
	case path == "github.com/prometheus/client_golang", strings.HasPrefix(path, "github.com/prometheus/client_golang/"):
		return true
	case strings.HasPrefix(path, "go.opentelemetry.io/"):
		return true
	}
	p := path + "/"
	return strings.Contains(p, "/internal/audit/") || strings.Contains(p, "/internal/logging/")
}

// funcName is pkg.Func or pkg.Type.Method, with the package's name rather
// than its path.
func funcName(fn *types.Func) string {
	name := fn.Pkg().Name() + "."
	if sig, ok := fn.Type().(*types.Signature); ok && sig.Recv() != nil {
		t := sig.Recv().Type()
		if p, ok := t.(*types.Pointer); ok {
			t = p.Elem()
		}
		if n, ok := types.Unalias(t).(*types.Named); ok {
			name += n.Obj().Name() + "."
		}
	}
	return name + fn.Name()
}

// isSanitizer reports whether fn's results are not content even when its
// arguments are: hashes, which the relay may log to correlate requests.
func isSanitizer(fn *types.Func) bool {
	if fn.Pkg() == nil {
		return false
	}
	p := fn.Pkg().Path()
	return strings.HasPrefix(p, "crypto/") || p == "hash" || strings.HasPrefix(p, "hash/")
}

// redacts reports whether fn is a method of a content type that returns the
// redaction marker instead of the content.
func redacts(fn *types.Func) bool {
	if fn.Pkg() == nil || fn.Pkg().Path() != ContentPath {
		return false
	}
	switch fn.Name() {
	case "String", "GoString", "Format", "LogValue", "MarshalJSON", "MarshalText":
		return true
	}
	return false
}
