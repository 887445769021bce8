package deptest

import (
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
)

const module = "github.com/inference-relay/relay"

// graph is the project's packages as their files' imports show them,
// keyed by path relative to the module root ("" for the root).
type graph struct {
	// imports are each package's direct imports of project packages,
	// from non-test files only.
	imports map[string][]string
	// files are each package's non-test files.
	files map[string][]string
	// external are the third-party import paths of each package's
	// non-test files; testExternal, of its test files.
	external, testExternal map[string]map[string]bool
}

func (g *graph) clone() *graph {
	c := &graph{imports: map[string][]string{}, files: g.files, external: map[string]map[string]bool{}, testExternal: map[string]map[string]bool{}}
	for k, v := range g.imports {
		c.imports[k] = slices.Clone(v)
	}
	for k, v := range g.external {
		c.external[k] = maps.Clone(v)
	}
	for k, v := range g.testExternal {
		c.testExternal[k] = maps.Clone(v)
	}
	return c
}

// thirdPartyPath reports whether an import path is outside the standard
// library and the project: its first element names a host.
func thirdPartyPath(p string) bool {
	first, _, _ := strings.Cut(p, "/")
	return strings.Contains(first, ".") && p != module && !strings.HasPrefix(p, module+"/")
}

// walk parses every Go file's imports (build tags ignored: every file
// counts, whatever platform it is for).
func walk(t *testing.T) *graph {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	g := &graph{imports: map[string][]string{}, files: map[string][]string{}, external: map[string]map[string]bool{}, testExternal: map[string]map[string]bool{}}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			n := d.Name()
			if path != root && (strings.HasPrefix(n, ".") || n == "testdata" || n == "node_modules") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") {
			return nil
		}
		test := strings.HasSuffix(path, "_test.go")
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		if rel == "." {
			rel = ""
		}
		rel = filepath.ToSlash(rel)
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		ext := g.external
		if test {
			ext = g.testExternal
		} else {
			g.files[rel] = append(g.files[rel], path)
			if _, ok := g.imports[rel]; !ok {
				g.imports[rel] = nil
			}
		}
		for _, is := range f.Imports {
			p, _ := strconv.Unquote(is.Path.Value)
			switch {
			case thirdPartyPath(p):
				if ext[rel] == nil {
					ext[rel] = map[string]bool{}
				}
				ext[rel][p] = true
			case test:
			case p == module:
				g.imports[rel] = append(g.imports[rel], "")
			case strings.HasPrefix(p, module+"/"):
				g.imports[rel] = append(g.imports[rel], strings.TrimPrefix(p, module+"/"))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// pkgs maps a package's path relative to the module root ("" for the root)
// to its direct imports of project packages (also relative), from non-test
// files only, and to its non-test files.
func pkgs(t *testing.T) (map[string][]string, map[string][]string) {
	t.Helper()
	g := walk(t)
	return g.imports, g.files
}

// closure returns every project package pkg depends on, directly or not.
func closure(imports map[string][]string, pkg string) map[string]bool {
	seen := map[string]bool{}
	var walk func(string)
	walk = func(p string) {
		for _, d := range imports[p] {
			if !seen[d] {
				seen[d] = true
				walk(d)
			}
		}
	}
	walk(pkg)
	return seen
}

func under(pkg string, prefixes ...string) bool {
	for _, p := range prefixes {
		if pkg == p || strings.HasPrefix(pkg, p+"/") {
			return true
		}
	}
	return false
}

func TestLeavesImportNothingOfTheProject(t *testing.T) {
	imports, _ := pkgs(t)
	// Leaves are the vocabulary everything else shares; if they imported
	// the project, the content/logic split could be bypassed through them.
	for _, leaf := range []string{"internal/content", "internal/logic", "internal/secret"} {
		if _, ok := imports[leaf]; !ok {
			t.Errorf("leaf package %s not found", leaf)
		}
		if deps := imports[leaf]; len(deps) > 0 {
			t.Errorf("%s must import no project package, imports %v", leaf, deps)
		}
	}
}

func TestContentOnlyWhereItMustGo(t *testing.T) {
	imports, _ := pkgs(t)
	const c = "internal/content"
	// The content package may be imported only by the code that must touch
	// user data: codecs, the pipeline, backends, sessions, the engine, the
	// library edge, and the test stand-ins.
	allowed := []string{"internal/wire", "internal/provider", "internal/server", "internal/session", "internal/engine", "internal/standin", "internal/tools/contentvet"}
	for pkg, deps := range imports {
		for _, d := range deps {
			if d == c && pkg != "" && !under(pkg, allowed...) {
				t.Errorf("%s imports %s; only %v and the root package may", pkg, c, allowed)
			}
		}
	}
	// Routing, audit, metrics, logging and measurement must not reach
	// content even indirectly: what they cannot import they cannot leak.
	for pkg := range imports {
		if !under(pkg, "internal/logic", "internal/route", "internal/audit", "internal/logging", "internal/measure", "internal/trust", "internal/auth", "internal/config", "internal/detect") {
			continue
		}
		deps := closure(imports, pkg)
		if deps[c] {
			t.Errorf("%s reaches %s through its imports", pkg, c)
		}
		// Nor credentials: what records metadata has no business holding a key.
		if under(pkg, "internal/audit", "internal/logging", "internal/measure", "internal/route") && deps["internal/secret"] {
			t.Errorf("%s reaches internal/secret through its imports", pkg)
		}
	}
}

func TestProvidersDoNotImportRouteOrServer(t *testing.T) {
	imports, _ := pkgs(t)
	for pkg := range imports {
		if !under(pkg, "internal/provider") {
			continue
		}
		for d := range closure(imports, pkg) {
			if under(d, "internal/route", "internal/server") {
				t.Errorf("%s depends on %s: backends must not know about routing or HTTP serving", pkg, d)
			}
		}
	}
}

// TestServerOnlyServes keeps the HTTP front to serving: what it routes to
// is built by internal/backends and handed over as a server.Backends, so
// the front links no provider, detector, weight check, sandbox or engine.
func TestServerOnlyServes(t *testing.T) {
	imports, _ := pkgs(t)
	for pkg := range imports {
		if !under(pkg, "internal/server") {
			continue
		}
		for d := range closure(imports, pkg) {
			if under(d, "internal/backends", "internal/detect", "internal/weights", "internal/sandbox", "internal/engine", "internal/provider/anthropic", "internal/provider/openai", "internal/provider/engine") {
				t.Errorf("%s depends on %s: the HTTP front only serves what internal/backends built", pkg, d)
			}
		}
	}
}

func TestNothingImportsCmd(t *testing.T) {
	imports, _ := pkgs(t)
	for pkg, deps := range imports {
		for _, d := range deps {
			if under(d, "cmd") {
				t.Errorf("%s imports %s: commands are leaves of the graph", pkg, d)
			}
		}
	}
}

// TestOnlyEgressDialsOnlySandboxSpawns greps for the calls that open
// connections or start processes. New code that needs either goes through
// internal/egress or internal/sandbox, where policy is enforced.
func TestOnlyEgressDialsOnlySandboxSpawns(t *testing.T) {
	_, files := pkgs(t)
	dial := regexp.MustCompile(`\bnet\.Dial|\bnet\.Dialer\b|http\.DefaultClient|http\.DefaultTransport|\bhttp\.(Get|Post|Head|PostForm)\(|&http\.Transport\{|\btls\.Dial`)
	spawn := regexp.MustCompile(`\bexec\.Command|\bos\.StartProcess|\bsyscall\.(ForkExec|Exec)\b`)
	var bad []string
	for pkg, fs := range files {
		for _, f := range fs {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if !under(pkg, "internal/egress") && dial.Match(b) {
				bad = append(bad, f+": opens a connection outside internal/egress")
			}
			if !under(pkg, "internal/sandbox") && spawn.Match(b) {
				bad = append(bad, f+": starts a process outside internal/sandbox")
			}
		}
	}
	sort.Strings(bad)
	for _, b := range bad {
		t.Error(b)
	}
}

// TestRulesCanFail proves the checks above are not vacuous: the helpers
// see the packages the rules are about.
func TestRulesCanFail(t *testing.T) {
	imports, _ := pkgs(t)
	for _, p := range []string{"", "internal/server", "internal/route", "internal/egress"} {
		if _, ok := imports[p]; !ok {
			t.Errorf("package %q not found by the walker", p)
		}
	}
	if !closure(imports, "internal/server")["internal/content"] {
		t.Error("closure misses server -> content")
	}
	if !closure(imports, "internal/backends")["internal/sandbox"] {
		t.Error("closure misses backends -> sandbox, which TestServerOnlyServes forbids the server")
	}
}
