package contentvet

import (
	"go/ast"
	"go/token"
	"go/types"

	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// unit tracks taint within one top-level declaration: which of its local
// variables hold content or something derived from it.
type unit struct {
	info    *types.Info
	tainted map[*types.Var]bool
}

func newUnit(info *types.Info) *unit {
	return &unit{info: info, tainted: make(map[*types.Var]bool)}
}

// solve applies the flow rules to every node of the declaration until no
// variable is added. Taint only grows and is bounded by the number of
// variables, so this ends; the loop is what makes "b := c; c := t.Bytes()"
// inside a loop body tainted in both.
func (u *unit) solve(decl inspector.Cursor) {
	for changed := true; changed; {
		changed = false
		for c := range decl.Preorder() {
			if u.flow(c.Node()) {
				changed = true
			}
		}
	}
}

// flow applies the rule for one node and reports whether it tainted a new
// variable.
func (u *unit) flow(n ast.Node) bool {
	switch n := n.(type) {
	case *ast.AssignStmt:
		return u.assign(n.Lhs, n.Rhs)
	case *ast.ValueSpec:
		lhs := make([]ast.Expr, len(n.Names))
		for i, id := range n.Names {
			lhs[i] = id
		}
		return u.assign(lhs, n.Values)
	case *ast.RangeStmt:
		if !u.isTainted(n.X) {
			return false
		}
		changed := false
		if n.Value != nil {
			// Elements, runes and map values of content are content.
			changed = u.taintRoot(n.Value)
		}
		if n.Key != nil {
			if m, ok := u.info.TypeOf(n.X).Underlying().(*types.Map); ok && canCarry(m.Key()) {
				changed = u.taintRoot(n.Key) || changed
			}
		}
		return changed
	case *ast.CallExpr:
		return u.sideEffects(n)
	}
	return false
}

func (u *unit) assign(lhs, rhs []ast.Expr) bool {
	changed := false
	if len(lhs) == len(rhs) {
		for i := range lhs {
			if u.isTainted(rhs[i]) {
				changed = u.taintRoot(lhs[i]) || changed
			}
		}
		return changed
	}
	if len(rhs) != 1 {
		return false
	}
	switch r := ast.Unparen(rhs[0]).(type) {
	case *ast.CallExpr:
		// a, b := f(x): each result that can carry bytes is derived.
		tuple, _ := u.info.TypeOf(r).(*types.Tuple)
		if tuple == nil || !u.callTaints(r) {
			return false
		}
		for i, l := range lhs {
			if i < tuple.Len() && canCarry(tuple.At(i).Type()) {
				changed = u.taintRoot(l) || changed
			}
		}
	case *ast.TypeAssertExpr, *ast.IndexExpr, *ast.UnaryExpr:
		// v, ok := x.(T), m[k], <-ch.
		if u.isTainted(r) {
			changed = u.taintRoot(lhs[0])
		}
	}
	return changed
}

// sideEffects taints what a call writes content into: the destination of
// copy, variables passed by address to a call that reads content
// (json.Unmarshal(b, &v)), and buffers written with content
// (sb.WriteString(s), buf.Write(b)).
func (u *unit) sideEffects(call *ast.CallExpr) bool {
	callee := typeutil.Callee(u.info, call)
	if b, ok := callee.(*types.Builtin); ok {
		if b.Name() == "copy" && len(call.Args) == 2 && u.isTainted(call.Args[1]) {
			return u.taintRoot(call.Args[0])
		}
		return false
	}
	if fn, ok := callee.(*types.Func); ok && isSanitizer(fn) {
		return false
	}
	reads := false
	for _, a := range call.Args {
		if u.isTainted(a) {
			reads = true
			break
		}
	}
	if !reads {
		return false
	}
	changed := false
	for _, a := range call.Args {
		if un, ok := ast.Unparen(a).(*ast.UnaryExpr); ok && un.Op == token.AND {
			changed = u.taintRoot(un.X) || changed
		}
	}
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
		if s, ok := u.info.Selections[sel]; ok && s.Kind() == types.MethodVal && isBuffer(s.Recv()) {
			changed = u.taintRoot(sel.X) || changed
		}
	}
	return changed
}

// isBuffer reports whether t can give back what was written to it: it has a
// Bytes() []byte or String() string method (bytes.Buffer, strings.Builder).
// Writers that cannot (http.ResponseWriter, bufio.Writer) are not tainted by
// a write, so that a later fmt.Fprintf(w, "...") to them is not reported.
func isBuffer(t types.Type) bool {
	if p, ok := t.Underlying().(*types.Pointer); ok {
		t = p.Elem()
	}
	ms := types.NewMethodSet(types.NewPointer(t))
	for _, name := range []string{"Bytes", "String"} {
		sel := ms.Lookup(nil, name)
		if sel == nil {
			continue
		}
		sig, ok := sel.Type().(*types.Signature)
		if ok && sig.Params().Len() == 0 && sig.Results().Len() == 1 && canCarry(sig.Results().At(0).Type()) {
			return true
		}
	}
	return false
}

// taintRoot taints the local variable that the assignable expression e
// writes into: v, v.f, v[i], *v. It reports whether the variable is newly
// tainted. Package-level variables and fields reached through calls are not
// tracked.
func (u *unit) taintRoot(e ast.Expr) bool {
	for {
		switch x := e.(type) {
		case *ast.ParenExpr:
			e = x.X
		case *ast.SelectorExpr:
			if s, ok := u.info.Selections[x]; !ok || s.Kind() != types.FieldVal {
				return false
			}
			e = x.X
		case *ast.IndexExpr:
			e = x.X
		case *ast.StarExpr:
			e = x.X
		case *ast.Ident:
			v, ok := u.info.ObjectOf(x).(*types.Var)
			if !ok || v.IsField() || v.Pkg() == nil || v.Parent() == v.Pkg().Scope() || u.tainted[v] {
				return false
			}
			u.tainted[v] = true
			return true
		default:
			return false
		}
	}
}

// isTainted reports whether e is content or derived from it.
func (u *unit) isTainted(e ast.Expr) bool {
	if e == nil {
		return false
	}
	if tv, ok := u.info.Types[e]; ok {
		if tv.IsType() || tv.Value != nil {
			return false // types, and constants such as content.Redacted
		}
		if isContent(tv.Type) {
			return true
		}
	}
	switch e := e.(type) {
	case *ast.ParenExpr:
		return u.isTainted(e.X)
	case *ast.Ident:
		v, ok := u.info.ObjectOf(e).(*types.Var)
		return ok && u.tainted[v]
	case *ast.SelectorExpr:
		// A field of content is content if it can hold bytes: p.Text is,
		// p.Kind and d.Index are metadata.
		s, ok := u.info.Selections[e]
		return ok && s.Kind() == types.FieldVal && canCarry(s.Type()) && u.isTainted(e.X)
	case *ast.IndexExpr:
		if tv, ok := u.info.Types[e.X]; ok && (tv.IsType() || isFunc(tv.Type)) {
			return false // a generic instantiation, not an index
		}
		// One byte or element of content is still content.
		return u.isTainted(e.X)
	case *ast.SliceExpr:
		return u.isTainted(e.X)
	case *ast.StarExpr:
		return u.isTainted(e.X)
	case *ast.UnaryExpr:
		return (e.Op == token.AND || e.Op == token.ARROW) && u.isTainted(e.X)
	case *ast.BinaryExpr:
		return e.Op == token.ADD && canCarry(u.info.TypeOf(e)) && (u.isTainted(e.X) || u.isTainted(e.Y))
	case *ast.TypeAssertExpr:
		return u.isTainted(e.X)
	case *ast.CompositeLit:
		for _, el := range e.Elts {
			if u.isTainted(el) {
				return true
			}
		}
	case *ast.KeyValueExpr:
		return u.isTainted(e.Key) || u.isTainted(e.Value)
	case *ast.CallExpr:
		return canCarry(u.info.TypeOf(e)) && u.callTaints(e)
	}
	return false
}

func isFunc(t types.Type) bool {
	_, ok := t.Underlying().(*types.Signature)
	return ok
}

// callTaints reports whether the results of call are derived from content:
// a conversion of content, append or min/max over it, or any call that gets
// content as an argument or receiver, except hashes and the content types'
// own redacting methods.
func (u *unit) callTaints(call *ast.CallExpr) bool {
	if tv, ok := u.info.Types[call.Fun]; ok && tv.IsType() {
		return len(call.Args) == 1 && u.isTainted(call.Args[0])
	}
	switch fn := typeutil.Callee(u.info, call).(type) {
	case *types.Builtin:
		switch fn.Name() {
		case "append", "min", "max":
			for _, a := range call.Args {
				if u.isTainted(a) {
					return true
				}
			}
		}
		return false
	case *types.Func:
		if isSanitizer(fn) || redacts(fn) {
			return false
		}
	}
	if sel, ok := ast.Unparen(call.Fun).(*ast.SelectorExpr); ok {
		if s, ok := u.info.Selections[sel]; ok && s.Kind() == types.MethodVal && u.isTainted(sel.X) {
			return true
		}
	}
	for _, a := range call.Args {
		if u.isTainted(a) {
			return true
		}
	}
	return false
}
