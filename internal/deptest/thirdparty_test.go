package deptest

import (
	"bufio"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// dep is what the project allows of one third-party module.
type dep struct {
	// why the module is used, and why only where it is.
	why string
	// imports are the packages whose non-test files may import the module
	// directly; none means test files only.
	imports []string
	// links, when set, are the only packages whose non-test code may
	// depend on the module at all, directly or through other packages;
	// unset, any package may reach it through the importers above.
	links []string
}

// engineChild is the engine child's code: the llama.cpp binding, the child
// process around it, and the relay binary, which is also the child's
// executable ("relay engine").
var engineChild = []string{"internal/engine", "internal/engine/child", "cmd/relay"}

// analyzers are the project's own vet checks, built as separate tools.
var analyzers = []string{"internal/tools/contentvet", "internal/tools/contentvet/cmd/contentvet"}

// thirdParty is every third-party module the project's code may import,
// where, and why. A module missing here fails the test: a new dependency
// comes with its reason and its place.
var thirdParty = map[string]dep{
	"github.com/hybridgroup/yzma": {
		why:     "the llama.cpp binding runs only in the engine child: the relay process, the HTTP front and the library never link it",
		imports: []string{"internal/engine"},
		links:   engineChild,
	},
	"github.com/ardanlabs/jinja": {
		why:     "chat templates render in the engine child only (content is placeholders there); the relay process never links it",
		imports: []string{"internal/engine"},
		links:   engineChild,
	},
	"github.com/ebitengine/purego": {
		why:     "the engine child's dlopen of the verified libraries; nothing else loads native code",
		imports: []string{"internal/engine"},
		links:   engineChild,
	},
	"golang.org/x/tools": {
		why:     "the go/analysis framework of the project's vet checks: build tools, never linked into the relay",
		imports: analyzers,
		links:   analyzers,
	},
	"github.com/prometheus/client_golang": {
		why:     "the /metrics exposition, behind one package that records metadata only",
		imports: []string{"internal/audit/metrics"},
	},
	"github.com/BurntSushi/toml": {
		why:     "the config file's format, parsed strictly where the config is validated",
		imports: []string{"internal/config"},
	},
	"golang.org/x/sys": {
		why: "system interfaces the standard library lacks (file locks, memfd seals, mlock, Landlock, seccomp, namespaces), kept to the packages that enforce them",
		imports: []string{
			"internal/audit/chain", "internal/engine", "internal/engine/child", "internal/engine/llamalibs",
			"internal/measure", "internal/memlock", "internal/sandbox", "internal/weights",
		},
	},
	"github.com/openai/openai-go/v3": {
		why: "tests only: the official SDK is the client the OpenAI front and the stand-ins are checked against; the relay speaks the wire format itself",
	},
	"github.com/anthropics/anthropic-sdk-go": {
		why: "tests only: the official SDK is the client the Anthropic front and the stand-ins are checked against; the relay speaks the wire format itself",
	},
	"github.com/google/go-cmp": {why: "tests only: readable diffs"},
	"github.com/rogpeppe/go-internal": {
		why: "tests only: testscript runs the command's scripted tests",
	},
}

// requires lists the modules go.mod requires.
func requires(t *testing.T) []string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var mods []string
	block := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, _, _ := strings.Cut(sc.Text(), "//")
		fields := strings.Fields(line)
		switch {
		case len(fields) == 0:
		case block && fields[0] == ")":
			block = false
		case block:
			mods = append(mods, fields[0])
		case fields[0] == "require" && len(fields) == 2 && fields[1] == "(":
			block = true
		case fields[0] == "require" && len(fields) >= 3:
			mods = append(mods, fields[1])
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(mods) == 0 {
		t.Fatal("go.mod requires nothing: the parser is broken")
	}
	return mods
}

// moduleOf names the module an import path belongs to: the longest module
// in mods that is the path or a prefix of it, or the path itself when none
// is (it then has no rule).
func moduleOf(mods []string, path string) string {
	best := ""
	for _, m := range mods {
		if (path == m || strings.HasPrefix(path, m+"/")) && len(m) > len(best) {
			best = m
		}
	}
	if best == "" {
		return path
	}
	return best
}

// thirdPartyProblems checks g against rules: direct imports in non-test
// files, imports in test files, and what each package links through the
// project packages it imports.
func thirdPartyProblems(g *graph, mods []string, rules map[string]dep) []string {
	var bad []string
	// direct[pkg] are the modules pkg's non-test files import.
	direct := map[string]map[string]bool{}
	for pkg, paths := range g.external {
		for path := range paths {
			mod := moduleOf(mods, path)
			if direct[pkg] == nil {
				direct[pkg] = map[string]bool{}
			}
			direct[pkg][mod] = true
			r, ok := rules[mod]
			switch {
			case !ok:
				bad = append(bad, fmt.Sprintf("%s imports %s: module %s has no rule; add it to thirdParty with where it may be used and why", show(pkg), path, mod))
			case !slices.Contains(r.imports, pkg):
				where := "test files only"
				if len(r.imports) > 0 {
					where = "only " + strings.Join(r.imports, ", ")
				}
				bad = append(bad, fmt.Sprintf("%s imports %s: %s may import it (%s)", show(pkg), mod, where, r.why))
			}
		}
	}
	for pkg, paths := range g.testExternal {
		for path := range paths {
			if mod := moduleOf(mods, path); rules[mod].why == "" {
				bad = append(bad, fmt.Sprintf("%s tests import %s: module %s has no rule; add it to thirdParty with where it may be used and why", show(pkg), path, mod))
			}
		}
	}
	for pkg := range g.imports {
		deps := closure(g.imports, pkg)
		deps[pkg] = true
		for _, d := range slices.Sorted(maps.Keys(deps)) {
			for mod := range direct[d] {
				r := rules[mod]
				if r.links == nil || slices.Contains(r.links, pkg) {
					continue
				}
				bad = append(bad, fmt.Sprintf("%s links %s through %s: only %s may (%s)", show(pkg), mod, show(d), strings.Join(r.links, ", "), r.why))
			}
		}
	}
	for mod := range rules {
		if !slices.Contains(mods, mod) {
			bad = append(bad, fmt.Sprintf("thirdParty has a rule for %s, which go.mod does not require", mod))
		}
	}
	sort.Strings(bad)
	return slices.Compact(bad)
}

func show(pkg string) string {
	if pkg == "" {
		return "the root package"
	}
	return pkg
}

func TestThirdPartyOnlyWhereAllowed(t *testing.T) {
	g := walk(t)
	for _, p := range thirdPartyProblems(g, requires(t), thirdParty) {
		t.Error(p)
	}
}

// TestThirdPartyRuleCanFail plants each kind of violation in a copy of the
// real graph and checks the rule reports it.
func TestThirdPartyRuleCanFail(t *testing.T) {
	mods := requires(t)
	real := walk(t)
	if len(real.external["internal/engine"]) == 0 || len(real.testExternal["internal/e2e"]) == 0 {
		t.Fatal("the walker sees no third-party import where there are some")
	}
	cases := []struct {
		name  string
		plant func(g *graph)
		want  string
	}{
		{"the server links the engine", func(g *graph) {
			g.imports["internal/server"] = append(g.imports["internal/server"], "internal/engine")
		}, "internal/server links github.com/hybridgroup/yzma through internal/engine"},
		{"the root links the child", func(g *graph) {
			g.imports[""] = append(g.imports[""], "internal/engine/child")
		}, "the root package links github.com/ebitengine/purego through internal/engine"},
		{"the relay links the analyzers", func(g *graph) {
			g.imports["cmd/relay"] = append(g.imports["cmd/relay"], "internal/tools/contentvet")
		}, "cmd/relay links golang.org/x/tools through internal/tools/contentvet"},
		{"a direct import elsewhere", func(g *graph) {
			g.external["internal/route"] = map[string]bool{"github.com/BurntSushi/toml": true}
		}, "internal/route imports github.com/BurntSushi/toml: only internal/config may"},
		{"an SDK outside tests", func(g *graph) {
			g.external["internal/wire/openai"] = map[string]bool{"github.com/openai/openai-go/v3/option": true}
		}, "internal/wire/openai imports github.com/openai/openai-go/v3: test files only may"},
		{"a module without a rule", func(g *graph) {
			g.external["internal/logic"] = map[string]bool{"example.com/new/dep": true}
		}, "internal/logic imports example.com/new/dep: module example.com/new/dep has no rule"},
		{"a test module without a rule", func(g *graph) {
			g.testExternal["internal/logic"] = map[string]bool{"example.com/assert": true}
		}, "internal/logic tests import example.com/assert"},
	}
	for _, c := range cases {
		g := real.clone()
		c.plant(g)
		got := thirdPartyProblems(g, mods, thirdParty)
		found := false
		for _, p := range got {
			found = found || strings.Contains(p, c.want)
		}
		if !found {
			t.Errorf("%s: no problem reported containing %q; got %q", c.name, c.want, got)
		}
	}
	stale := map[string]dep{"example.com/gone": {why: "x"}}
	if got := thirdPartyProblems(real, mods, stale); !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, "example.com/gone, which go.mod does not require") }) {
		t.Errorf("a stale rule is not reported: %q", got)
	}
	if moduleOf(mods, "github.com/hybridgroup/yzma/pkg/llama") != "github.com/hybridgroup/yzma" || moduleOf(mods, "golang.org/x/sys/unix") != "golang.org/x/sys" {
		t.Error("moduleOf does not map an import to its module")
	}
}
