package audit

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/inference-relay/relay"

// metadataOnly are the packages of SPEC C2 that record metadata: audit,
// metrics, logging and the measured state. They must not reach user content
// even indirectly, so that no code path there can format it.
var metadataOnly = []string{
	"internal/audit",
	"internal/audit/chain",
	"internal/audit/metrics",
	"internal/logging",
	"internal/measure",
}

// banned are the project packages those must never import, directly or
// through another project package, and why.
var banned = map[string]string{
	module + "/internal/content": "user content: audit, metrics and logs carry metadata only (SPEC C1–C2)",
	module + "/internal/secret":  "credentials are never recorded; logging matches secret types by reflection instead",
}

func TestMetadataPackagesNeverImportContent(t *testing.T) {
	root := moduleRoot(t)
	for _, pkg := range metadataOnly {
		if _, err := os.Stat(filepath.Join(root, pkg)); err != nil {
			continue // not written yet
		}
		seen := map[string]bool{}
		var walk func(path string, chain []string)
		walk = func(path string, chain []string) {
			if seen[path] {
				return
			}
			seen[path] = true
			for _, imp := range projectImports(t, root, path) {
				via := append(chain[:len(chain):len(chain)], imp)
				if why, bad := banned[imp]; bad {
					t.Errorf("%s imports %s (%s)", strings.Join(chain, " → "), imp, why)
					continue
				}
				walk(imp, via)
			}
		}
		walk(module+"/"+pkg, []string{module + "/" + pkg})
	}
}

// projectImports returns the imports of the non-test files of the project
// package at importPath that belong to this module. Build tags are ignored,
// so every platform's files count.
func projectImports(t *testing.T, root, importPath string) []string {
	t.Helper()
	dir := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(importPath, module+"/")))
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		af, err := parser.ParseFile(fset, f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range af.Imports {
			p, _ := strconv.Unquote(is.Path.Value)
			if p == module || strings.HasPrefix(p, module+"/") {
				out = append(out, p)
			}
		}
	}
	return out
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

// The walker must see a banned import when there is one.
func TestImportWalkerFindsImports(t *testing.T) {
	got := projectImports(t, moduleRoot(t), module+"/internal/provider")
	found := false
	for _, p := range got {
		found = found || p == module+"/internal/content"
	}
	if !found {
		t.Errorf("provider's imports %v do not include content", got)
	}
}
