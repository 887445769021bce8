package contentvet

import (
	"go/ast"
	"go/token"
	"strings"

	"golang.org/x/tools/go/analysis"
	"golang.org/x/tools/go/analysis/passes/inspect"
	"golang.org/x/tools/go/ast/inspector"
	"golang.org/x/tools/go/types/typeutil"
)

// DefaultAllowString is the default of the -allow-string flag: the wire
// codecs, the stand-in engines and the library's root package may turn
// content bytes into strings.
const DefaultAllowString = "/internal/wire/,/internal/standin/,github.com/inference-relay/relay"

// Analyzer reports content reaching logs, errors, metrics and traces, and
// content bytes turned into strings outside the codecs. See the package doc.
var Analyzer = &analysis.Analyzer{
	Name:     "contentvet",
	Doc:      "report user content reaching logs, errors, metrics or traces, and content bytes converted to string outside the wire codecs",
	URL:      "https://pkg.go.dev/github.com/inference-relay/relay/internal/tools/contentvet",
	Requires: []*analysis.Analyzer{inspect.Analyzer},
	Run:      run,
}

var allowString = DefaultAllowString

func init() {
	Analyzer.Flags.StringVar(&allowString, "allow-string", DefaultAllowString,
		"comma-separated packages where content bytes may be converted to string: an entry starting with / matches "+
			"every import path that contains it (a path is taken with a trailing /), any other entry matches that path exactly")
}

// stringAllowed reports whether the package at path may convert content
// bytes to string under the allow list.
func stringAllowed(path, allow string) bool {
	for _, e := range strings.Split(allow, ",") {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
		case strings.HasPrefix(e, "/"):
			if strings.Contains(path+"/", e) {
				return true
			}
		case path == e:
			return true
		}
	}
	return false
}

func run(pass *analysis.Pass) (any, error) {
	c := &checker{
		pass:        pass,
		dirs:        parseDirectives(pass.Fset, pass.Files),
		allowString: stringAllowed(pass.Pkg.Path(), allowString),
	}
	insp := pass.ResultOf[inspect.Analyzer].(*inspector.Inspector)
	for file := range insp.Root().Children() {
		name := pass.Fset.File(file.Node().Pos()).Name()
		inTest := strings.HasSuffix(name, "_test.go")
		for decl := range file.Children() {
			switch decl.Node().(type) {
			case *ast.FuncDecl, *ast.GenDecl:
			default:
				continue
			}
			u := newUnit(pass.TypesInfo)
			u.solve(decl)
			for call := range decl.Preorder((*ast.CallExpr)(nil)) {
				c.checkCall(u, call, inTest)
			}
		}
	}
	for _, d := range c.dirs.all {
		switch {
		case d.reason == "":
			pass.Reportf(d.pos, "contentvet:ok needs a reason")
		case !d.used:
			pass.Reportf(d.pos, "contentvet:ok silences nothing on this line or the next")
		}
	}
	return nil, nil
}

type checker struct {
	pass        *analysis.Pass
	dirs        *directives
	allowString bool
}

func (c *checker) checkCall(u *unit, cur inspector.Cursor, inTest bool) {
	call := cur.Node().(*ast.CallExpr)
	info := c.pass.TypesInfo
	if tv, ok := info.Types[call.Fun]; ok && tv.IsType() {
		if len(call.Args) == 1 && isString(tv.Type) && isBytes(info.TypeOf(call.Args[0])) &&
			!inTest && !c.allowString && !compared(cur) && u.isTainted(call.Args[0]) {
			c.report(call, call, "content bytes converted to string outside the wire codecs")
		}
		return
	}
	name, ok := sinkName(typeutil.Callee(info, call))
	if !ok {
		return
	}
	for _, a := range call.Args {
		if u.isTainted(a) {
			c.report(a, call, "content reaches "+name)
		}
	}
}

// compared reports whether the expression at cur is an operand of a
// comparison: string(b) == "x" makes no string (the compiler compares the
// bytes in place), so nothing outlives the expression.
func compared(cur inspector.Cursor) bool {
	for p := cur.Parent(); p.Valid(); p = p.Parent() {
		switch n := p.Node().(type) {
		case *ast.ParenExpr:
			continue
		case *ast.BinaryExpr:
			switch n.Op {
			case token.EQL, token.NEQ, token.LSS, token.LEQ, token.GTR, token.GEQ:
				return true
			}
		}
		return false
	}
	return false
}

// report reports at n unless a directive on n's line, the call's line, or
// the line before either silences it.
func (c *checker) report(n, call ast.Node, msg string) {
	if c.dirs.silences(n.Pos(), call.Pos()) {
		return
	}
	c.pass.Report(analysis.Diagnostic{Pos: n.Pos(), End: n.End(), Message: msg})
}
