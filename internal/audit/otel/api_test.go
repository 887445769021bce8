package otel

import (
	"context"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/inference-relay/relay/internal/audit"
)

// The span's data can come from audit.Event only. These tests pin every
// door: the exported methods, the queue the worker reads, and the functions
// that build spans. audit's own tests prove an Event holds no free text.

func TestExporterAcceptsOnlyEvents(t *testing.T) {
	allowed := map[reflect.Type]bool{
		reflect.TypeFor[audit.Event]():     true, // Record
		reflect.TypeFor[context.Context](): true, // Close
	}
	typ := reflect.TypeFor[*Exporter]()
	var names []string
	for m := range typ.Methods() {
		names = append(names, m.Name)
		for i := 1; i < m.Type.NumIn(); i++ { // In(0) is the receiver
			if in := m.Type.In(i); !allowed[in] {
				t.Errorf("(*Exporter).%s accepts %v; only audit.Event may reach the encoder", m.Name, in)
			}
		}
	}
	if diff := cmp.Diff([]string{"Close", "Record", "Stats"}, names); diff != "" {
		t.Errorf("exported methods (-want +got):\n%s", diff)
	}
	if q, ok := reflect.TypeFor[Exporter]().FieldByName("queue"); !ok || q.Type != reflect.TypeFor[chan audit.Event]() {
		t.Errorf("Exporter.queue is %v, want chan audit.Event", q.Type)
	}
	for name, fn := range map[string]any{"spanOf": spanOf, "attributesOf": attributesOf} {
		ft := reflect.TypeOf(fn)
		if ft.NumIn() != 1 || ft.In(0) != reflect.TypeFor[audit.Event]() {
			t.Errorf("%s has type %v; its only input must be audit.Event", name, ft)
		}
	}
	et := reflect.TypeOf(encode)
	if et.NumIn() != 2 || et.In(0) != reflect.TypeFor[resource]() || et.In(1) != reflect.TypeFor[[]audit.Event]() {
		t.Errorf("encode has type %v; want (resource, []audit.Event)", et)
	}
}

// The exported API, read from the source: one constructor taking Config,
// and no other function or method a caller could hand data to.
func TestExportedAPI(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range af.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || !fd.Name.IsExported() {
				continue
			}
			var params []string
			for _, p := range fd.Type.Params.List {
				for range max(len(p.Names), 1) {
					params = append(params, types(p.Type))
				}
			}
			name := fd.Name.Name
			if fd.Recv != nil {
				name = types(fd.Recv.List[0].Type) + "." + name
			}
			got = append(got, name+"("+strings.Join(params, ", ")+")")
		}
	}
	slices.Sort(got)
	want := []string{
		"*Exporter.Close(context.Context)",
		"*Exporter.Record(audit.Event)",
		"*Exporter.Stats()",
		"New(Config)",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("exported functions (-want +got):\n%s", diff)
	}
}

func types(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.StarExpr:
		return "*" + types(e.X)
	case *ast.SelectorExpr:
		return types(e.X) + "." + e.Sel.Name
	}
	return "?"
}

func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found")
		}
		dir = parent
	}
}
