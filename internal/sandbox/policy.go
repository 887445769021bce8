package sandbox

import (
	"encoding/json"
	"errors"
	"strings"
)

// policyEnv carries a confined child's policy from Start to Enter: paths
// and descriptor numbers only, never content. Enter removes it before the
// child's own code runs.
const policyEnv = "RELAY_SANDBOX"

// ExitEnterFailed is the exit status of a child whose Enter could not
// apply a step of its confinement. Its stderr then holds one line naming
// the step and the error (see EnterFailure).
const ExitEnterFailed = 97

// policy is what a confined child applies to itself in Enter.
type policy struct {
	Read  []string `json:"read,omitempty"`
	Exec  []string `json:"exec,omitempty"`
	Write []string `json:"write,omitempty"`
	// Files are descriptor numbers of inherited regular files: they stay
	// readable.
	Files []int `json:"files,omitempty"`
	// NoNetwork: no TCP at all (Landlock net rules, seccomp socket).
	NoNetwork bool `json:"no_network,omitempty"`
	// SyncFD is the descriptor Enter reads one byte from before anything
	// else: the parent writes it once the child's id maps are in place.
	SyncFD int `json:"sync_fd"`
	// Mapped is set by Enter itself when it re-executes once as the
	// mapped root of the child's user namespace (see Enter).
	Mapped bool `json:"mapped,omitempty"`
}

func (p *policy) encode() (string, error) {
	b, err := json.Marshal(p)
	return string(b), err
}

func decodePolicy(s string) (*policy, error) {
	var p policy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, errors.New("malformed policy")
	}
	return &p, nil
}

// Report is a child's confinement as the child itself measured it
// (Confined). A layer the kernel lacks is false and named in Missing. It
// travels from the child to the relay (the engine child puts it in its
// hello), so the relay checks it against MeasureChild, what the kernel
// shows from outside.
type Report struct {
	// Entered: no_new_privs is set and every capability set but the
	// bounding set is empty, as Enter leaves a process.
	Entered bool `json:"entered"`
	// LandlockABI is the kernel's Landlock ABI version, 0 when absent.
	LandlockABI int `json:"landlock_abi"`
	// Filesystem: the Landlock filesystem rules are in force.
	Filesystem bool `json:"filesystem"`
	// TCP: Landlock refuses every TCP bind and connect (ABI 4+).
	TCP bool `json:"tcp"`
	// Scoped: Landlock refuses signals and abstract unix sockets to
	// processes outside the child's domain (ABI 6+).
	Scoped bool `json:"scoped"`
	// Seccomp: the syscall filter is installed.
	Seccomp bool `json:"seccomp"`
	// BoundingSet: the capability bounding set was emptied and the
	// securebits locked (needs CAP_SETPCAP, which the child has as root of
	// its user namespace).
	BoundingSet bool `json:"bounding_set"`
	// Missing names the layers this kernel lacks.
	Missing []string `json:"missing,omitempty"`
	// SelfTest is what the confined image found when it tried what the
	// confinement must refuse, first thing after the re-exec.
	SelfTest *SelfTest `json:"self_test,omitempty"`
}

// SelfTest holds, for each attempt, "ok" when it succeeded or the errno's
// name when it was refused.
type SelfTest struct {
	// OpenRoot is opening "/" for reading: Landlock refuses it (EACCES).
	OpenRoot string `json:"open_root"`
	// TCP is making a TCP socket and connecting it to loopback: seccomp
	// refuses the socket (EPERM), Landlock the connect (EACCES).
	TCP string `json:"tcp"`
}

// ParseReport decodes a Report sent by a child (JSON). It is bounded and
// strict: anything else is an error.
func ParseReport(s string) (Report, error) {
	var r Report
	if len(s) > 4096 {
		return r, errors.New("sandbox: report too long")
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return Report{}, errors.New("sandbox: malformed report")
	}
	for _, m := range r.Missing {
		if !validStep(m) {
			return Report{}, errors.New("sandbox: malformed report")
		}
	}
	if st := r.SelfTest; st != nil && (!validResult(st.OpenRoot) || !validResult(st.TCP)) {
		return Report{}, errors.New("sandbox: malformed report")
	}
	return r, nil
}

// EncodeReport renders r for a child to send.
func EncodeReport(r Report) string {
	b, _ := json.Marshal(r)
	return string(b)
}

// validStep reports whether s is a short label made of lowercase letters,
// digits, spaces and ":_-" — what Enter writes as a step name.
func validStep(s string) bool {
	if s == "" || len(s) > 80 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == ' ', c == ':', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// EnterFailure parses the stderr of a child that exited with
// ExitEnterFailed and returns the step that failed and the error's name
// (e.g. "landlock: restrict_self", "EPERM"). ok is false when stderr does
// not hold such a line (the child's stderr is untrusted: only a line in
// Enter's exact shape is accepted).
func EnterFailure(stderr []byte) (step, errno string, ok bool) {
	lines := strings.Split(strings.TrimRight(string(stderr), "\n"), "\n")
	line := lines[len(lines)-1]
	rest, found := strings.CutPrefix(line, "sandbox: ")
	if !found {
		return "", "", false
	}
	i := strings.LastIndex(rest, ": ")
	if i < 0 {
		return "", "", false
	}
	step, errno = rest[:i], rest[i+2:]
	if !validStep(step) || !validErrno(errno) {
		return "", "", false
	}
	return step, errno, true
}

func validResult(s string) bool { return s == "ok" || validErrno(s) }

func validErrno(s string) bool {
	if s == "" || len(s) > 24 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
