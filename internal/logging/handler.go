package logging

import (
	"context"
	"log/slog"
)

// maxResolve bounds LogValuer chains, as slog itself does.
const maxResolve = 100

// Handler filters every attribute (see the package doc) before handing the
// record to the handler it wraps. It is safe for concurrent use.
type Handler struct {
	inner  slog.Handler
	allow  map[string]bool // full dotted keys
	groups map[string]bool // dotted prefixes of allowed keys ("g." for "g.k")
	prefix string          // the groups opened by WithGroup, as "a.b."
}

// NewHandler wraps inner.
func NewHandler(inner slog.Handler) *Handler { return newHandler(inner, allowed) }

func newHandler(inner slog.Handler, allow map[string]bool) *Handler {
	groups := map[string]bool{}
	for k := range allow {
		for i := range len(k) {
			if k[i] == '.' {
				groups[k[:i+1]] = true
			}
		}
	}
	return &Handler{inner: inner, allow: allow, groups: groups}
}

// Enabled defers to the wrapped handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

// Handle passes r on with only the attributes that survive the filter.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if fa, ok := h.filter(a, h.prefix); ok {
			out.AddAttrs(fa)
		}
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs filters attrs once, here, rather than on every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	var kept []slog.Attr
	for _, a := range attrs {
		if fa, ok := h.filter(a, h.prefix); ok {
			kept = append(kept, fa)
		}
	}
	c := *h
	c.inner = h.inner.WithAttrs(kept)
	return &c
}

// WithGroup opens a group: later keys are checked under it.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.inner = h.inner.WithGroup(name)
	c.prefix = h.prefix + name + "."
	return &c
}

// filter returns a, with its value resolved and made safe, if it may be
// written under prefix.
func (h *Handler) filter(a slog.Attr, prefix string) (slog.Attr, bool) {
	full := prefix + a.Key
	// Drop early what no allowed key can match, without even resolving the
	// value: LogValue of an unknown type is not ours to call. A group with
	// an empty key is inlined, so it is checked child by child.
	if a.Key != "" && !h.allow[full] && !h.groups[full+"."] {
		return slog.Attr{}, false
	}
	if a.Key == "" && a.Value.Kind() != slog.KindGroup && a.Value.Kind() != slog.KindLogValuer {
		return slog.Attr{}, false
	}
	v, ok := resolve(a.Value)
	if !ok {
		return slog.Attr{}, false
	}
	if v.Kind() == slog.KindGroup {
		sub := prefix
		if a.Key != "" {
			sub = full + "."
		}
		var kept []slog.Attr
		for _, c := range v.Group() {
			if fc, ok := h.filter(c, sub); ok {
				kept = append(kept, fc)
			}
		}
		if len(kept) == 0 {
			return slog.Attr{}, false
		}
		return slog.Attr{Key: a.Key, Value: slog.GroupValue(kept...)}, true
	}
	if a.Key == "" || builtin[full] || !h.allow[full] {
		return slog.Attr{}, false
	}
	return slog.Attr{Key: a.Key, Value: v}, true
}

// resolve follows LogValuer steps one at a time, checking the type of each
// value met, and renders errors as their class. ok is false when the value
// must not be written.
func resolve(v slog.Value) (slog.Value, bool) {
	for range maxResolve {
		switch v.Kind() {
		case slog.KindLogValuer:
			lv := v.LogValuer()
			if !safeType(lv) {
				return slog.Value{}, false
			}
			next, ok := logValue(lv)
			if !ok {
				return slog.Value{}, false
			}
			v = next
		case slog.KindAny:
			x := v.Any()
			if !safeType(x) {
				return slog.Value{}, false
			}
			if err, ok := x.(error); ok {
				return slog.StringValue(errorClass(err)), true
			}
			if !safeAny(x) {
				return slog.Value{}, false
			}
			return v, true
		default:
			return v, true
		}
	}
	return slog.Value{}, false
}

// logValue calls LogValue, treating a panic as "do not log".
func logValue(lv slog.LogValuer) (v slog.Value, ok bool) {
	defer func() {
		if recover() != nil {
			v, ok = slog.Value{}, false
		}
	}()
	return lv.LogValue(), true
}
