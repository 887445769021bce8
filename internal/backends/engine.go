package backends

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/inference-relay/relay/internal/config"
	"github.com/inference-relay/relay/internal/engine/llamalibs"
	"github.com/inference-relay/relay/internal/measure"
	pengine "github.com/inference-relay/relay/internal/provider/engine"
	"github.com/inference-relay/relay/internal/route"
	"github.com/inference-relay/relay/internal/sandbox"
	"github.com/inference-relay/relay/internal/weights"
)

// EngineBackend is the name the embedded engine routes under.
const EngineBackend = "engine"

// ModelState is one model file's verification at start, for doctor and
// /audit: names, paths and hashes only.
type ModelState struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Status  string `json:"status"`
	Trust   string `json:"trust"`
	SHA256  string `json:"sha256,omitempty"`
	Bytes   int64  `json:"bytes"`
	Problem string `json:"problem,omitempty"`
}

// buildEngine discovers and verifies the engine's model files and starts
// the sandboxed engine child for those that verified. Nothing to serve is
// not an error; a refused library or weight file is reported in the
// returned info, and the relay serves its other backends.
func buildEngine(c config.Config, sup *sandbox.Supervisor, progress io.Writer) (*pengine.Provider, *Info, []ModelState) {
	if c.Engine.Disabled || c.EngineBinary == "" || sup == nil {
		return nil, nil, nil
	}
	wc := weights.Config{Ollama: c.Engine.Ollama == nil || *c.Engine.Ollama, OllamaDir: c.Engine.OllamaDir}
	for _, m := range c.Models {
		wc.Models = append(wc.Models, weights.ModelConfig{Name: m.Name, Path: m.Path, SHA256: m.SHA256})
	}
	found, derr := weights.Discover(wc)
	info := &Info{Name: EngineBackend, Kind: "embedded", BaseURL: "socketpair://engine"}
	if len(found) == 0 {
		if derr != nil {
			info.Problem = "no usable model: " + derr.Error()
			return nil, info, nil
		}
		return nil, nil, nil
	}
	results := weights.Verify(found, weights.Options{StateDir: c.StateDir, Progress: progress})
	var states []ModelState
	refused := 0
	for _, r := range results {
		st := ModelState{Name: r.Model.Name, Path: r.Model.Path, Status: r.Status.String(), Trust: r.Trust.String(), SHA256: r.SHA256, Bytes: r.Bytes}
		if r.Err != nil {
			st.Problem = r.Err.Error()
			refused++
		}
		states = append(states, st)
	}
	ok := weights.Verified(results)
	if len(ok) == 0 {
		info.Problem = fmt.Sprintf("every model file was refused (%d); see 'relay doctor'", refused)
		return nil, info, states
	}
	libDir := c.Engine.LibDir
	if libDir == "" {
		libDir = llamalibs.Dir(c.StateDir, false)
	}
	p, err := pengine.New(pengine.Config{
		Binary: c.EngineBinary, LibDir: libDir, Models: ok,
		Threads: c.Engine.Threads, ContextLength: c.Engine.ContextLength, Supervisor: sup,
	})
	if err != nil {
		for _, m := range ok {
			m.File.Close()
		}
		info.Problem = "the engine did not start: " + err.Error()
		if errors.Is(err, pengine.ErrLibraries) {
			info.Problem += " (install the libraries with " + llamalibs.SetupScript + ")"
		}
		return nil, info, states
	}
	for _, m := range ok {
		info.Models = append(info.Models, m.Name)
	}
	if refused > 0 {
		info.Problem = fmt.Sprintf("%d model file(s) refused; serving the rest", refused)
	}
	return p, info, states
}

// engineRoute is the routing entry of a started engine.
func engineRoute(info *Info) route.Backend {
	return route.Backend{Name: EngineBackend, Models: info.Models}
}

// EngineChild is one running child in the engine section of GET /audit.
// NoNetwork and FilesystemConfined are measured, not declared: the first
// compares the child's network namespace with the relay's now, the second
// is the child's own self-test (Landlock shows nothing in /proc).
type EngineChild struct {
	Name               string    `json:"name"`
	Pid                int       `json:"pid"`
	Started            time.Time `json:"started"`
	NoNetwork          bool      `json:"no_network"`
	FilesystemConfined bool      `json:"filesystem_confined"`
	// Confined: the kernel's view (Measured) matches what the child
	// reported it applied (Reported), and both show the confinement the
	// engine requires; Problem says what does not when it is false.
	Confined bool                `json:"confined"`
	Problem  string              `json:"problem,omitempty"`
	Measured sandbox.Confinement `json:"measured"`
	Reported *sandbox.Report     `json:"reported,omitempty"`
}

// EngineAudit is the engine section of GET /audit, measured when called:
// each child's confinement read back from the kernel, the engine child's
// own report of its Landlock self-test, the relay's own protections that
// keep a child from reaching into it, and the start-time weight checks.
func EngineAudit(sup *sandbox.Supervisor, b *Set) map[string]any {
	var rep *sandbox.Report
	enginePid := 0
	if b != nil {
		if p, ok := b.Providers[EngineBackend].(*pengine.Provider); ok {
			if r, m, ok := p.Confinement(); ok {
				rep, enginePid = &r, m.Pid
			}
		}
	}
	children := []EngineChild{}
	if sup != nil {
		for _, ch := range sup.Children() {
			m := sandbox.MeasureChild(ch.Pid)
			ec := EngineChild{Name: ch.Name, Pid: ch.Pid, Started: ch.Started, NoNetwork: m.OwnNetNS && len(m.Errors) == 0, Measured: m}
			if ch.Pid == enginePid && rep != nil {
				ec.Reported = rep
				ec.FilesystemConfined = rep.Filesystem
				if err := m.Check(*rep, true); err != nil {
					ec.Problem = err.Error()
				} else {
					ec.Confined = true
				}
			} else {
				ec.Problem = "no confinement report from this child"
			}
			children = append(children, ec)
		}
	}
	prot := measure.Protections()
	var weights []ModelState
	if b != nil {
		weights = b.Weights
	}
	return map[string]any{
		"weights_verified_at_start": weights,
		"children":                  children,
		// A child confined as above cannot ptrace the relay or read its
		// memory; a non-dumpable relay is the layer that also holds where
		// a kernel lacks Landlock or seccomp.
		"relay_process": map[string]any{"dumpable": prot.Dumpable, "tracer_pid": prot.TracerPID},
		"measured_at":   time.Now().UTC(),
	}
}
