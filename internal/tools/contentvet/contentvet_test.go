package contentvet_test

import (
	"testing"

	"github.com/inference-relay/relay/internal/tools/contentvet"
	"golang.org/x/tools/go/analysis/analysistest"
)

func TestAnalyzer(t *testing.T) {
	analysistest.Run(t, analysistest.TestData(), contentvet.Analyzer,
		"github.com/inference-relay/relay/internal/route",
		"github.com/inference-relay/relay/internal/wire/x",
		"github.com/inference-relay/relay/internal/standin/engine",
		"github.com/inference-relay/relay",
		"github.com/inference-relay/relay/internal/content",
	)
}

func TestAllowStringFlag(t *testing.T) {
	// By default github.com/inference-relay/relay/internal/custom may not convert content to string...
	res := analysistest.Run(fakeT{t}, analysistest.TestData(), contentvet.Analyzer, "github.com/inference-relay/relay/internal/custom")
	if n := diagnostics(res); n != 1 {
		t.Errorf("default flag: %d diagnostics, want 1", n)
	}
	// ...and with -allow-string naming it, it may.
	flag := contentvet.Analyzer.Flags.Lookup("allow-string")
	old := flag.Value.String()
	t.Cleanup(func() { _ = flag.Value.Set(old) })
	if err := flag.Value.Set("/internal/wire/,github.com/inference-relay/relay/internal/custom"); err != nil {
		t.Fatal(err)
	}
	res = analysistest.Run(t, analysistest.TestData(), contentvet.Analyzer, "github.com/inference-relay/relay/internal/custom")
	if n := diagnostics(res); n != 0 {
		t.Errorf("-allow-string=github.com/inference-relay/relay/internal/custom: %d diagnostics, want 0", n)
	}
}

func diagnostics(res []*analysistest.Result) int {
	n := 0
	for _, r := range res {
		n += len(r.Diagnostics)
	}
	return n
}

// fakeT swallows the errors analysistest reports for diagnostics that no
// "want" comment expects: TestAllowStringFlag counts them itself.
type fakeT struct{ *testing.T }

func (fakeT) Errorf(string, ...any) {}
