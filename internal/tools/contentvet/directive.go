package contentvet

import (
	"go/ast"
	"go/token"
	"strings"
)

// directivePrefix starts a comment that silences the reports on its line or
// the next: "//contentvet:ok <reason>".
const directivePrefix = "//contentvet:ok"

type directive struct {
	pos    token.Pos
	reason string
	used   bool
}

// directives indexes a package's //contentvet:ok comments by file and line.
type directives struct {
	fset   *token.FileSet
	byLine map[string]map[int]*directive
	all    []*directive
}

func parseDirectives(fset *token.FileSet, files []*ast.File) *directives {
	d := &directives{fset: fset, byLine: make(map[string]map[int]*directive)}
	for _, f := range files {
		for _, g := range f.Comments {
			for _, c := range g.List {
				rest, ok := strings.CutPrefix(c.Text, directivePrefix)
				if !ok || rest != "" && rest[0] != ' ' && rest[0] != '\t' {
					continue // not ours ("//contentvet:okay")
				}
				// A reason ends where another comment starts, so that
				// "//contentvet:ok // note" has no reason.
				reason, _, _ := strings.Cut(rest, "//")
				dir := &directive{pos: c.Pos(), reason: strings.TrimSpace(reason)}
				p := fset.Position(c.Pos())
				if d.byLine[p.Filename] == nil {
					d.byLine[p.Filename] = make(map[int]*directive)
				}
				d.byLine[p.Filename][p.Line] = dir
				d.all = append(d.all, dir)
			}
		}
	}
	return d
}

// silences reports whether a directive with a reason stands on the line of
// one of the positions, or on the line before, and marks it used.
func (d *directives) silences(positions ...token.Pos) bool {
	for _, pos := range positions {
		p := d.fset.Position(pos)
		lines := d.byLine[p.Filename]
		for _, line := range []int{p.Line, p.Line - 1} {
			if dir := lines[line]; dir != nil && dir.reason != "" {
				dir.used = true
				return true
			}
		}
	}
	return false
}
