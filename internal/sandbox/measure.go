package sandbox

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// CapSet is a capability set as /proc/PID/status shows it.
type CapSet uint64

// MarshalJSON writes the set as /proc does: 16 hex digits.
func (c CapSet) MarshalJSON() ([]byte, error) {
	return []byte(fmt.Sprintf("%q", fmt.Sprintf("%016x", uint64(c)))), nil
}

// Confinement is a child's confinement as the kernel shows it from the
// outside, read when asked: capability sets, no_new_privs and seccomp from
// /proc/PID/status, namespaces compared with the relay's own, and the
// user namespace's id maps. (Landlock is not visible there: the child's
// Report.SelfTest covers it.)
type Confinement struct {
	Pid            int    `json:"pid"`
	CapEff         CapSet `json:"cap_eff"`
	CapPrm         CapSet `json:"cap_prm"`
	CapInh         CapSet `json:"cap_inh"`
	CapBnd         CapSet `json:"cap_bnd"`
	CapAmb         CapSet `json:"cap_amb"`
	NoNewPrivs     bool   `json:"no_new_privs"`
	Seccomp        int    `json:"seccomp_mode"` // 0 none, 1 strict, 2 filter
	SeccompFilters int    `json:"seccomp_filters"`
	// OwnNetNS and OwnUserNS: the child's namespace differs from the
	// relay's.
	OwnNetNS  bool   `json:"own_network_namespace"`
	OwnUserNS bool   `json:"own_user_namespace"`
	UIDMap    string `json:"uid_map,omitempty"`
	GIDMap    string `json:"gid_map,omitempty"`
	// Errors lists what could not be read.
	Errors     []string  `json:"errors,omitempty"`
	MeasuredAt time.Time `json:"measured_at"`
}

// Check compares what the kernel shows with what the child reported it
// applied (and what a child confined by Enter must always show), and
// returns an error naming the first difference.
func (c Confinement) Check(r Report, noNetwork bool) error {
	switch {
	case !r.Entered:
		return errors.New("the child did not confine itself (its main must call sandbox.Enter first)")
	case len(c.Errors) > 0:
		return fmt.Errorf("its state could not be read: %s", c.Errors[0])
	case c.CapEff != 0 || c.CapPrm != 0 || c.CapInh != 0 || c.CapAmb != 0:
		return errors.New("it still holds capabilities")
	case r.BoundingSet && c.CapBnd != 0:
		return errors.New("its capability bounding set is not empty")
	case !c.NoNewPrivs:
		return errors.New("no_new_privs is not set")
	case r.Seccomp && c.Seccomp != 2:
		return errors.New("its seccomp filter is not in force")
	case noNetwork && !c.OwnNetNS:
		return errors.New("it shares the relay's network namespace")
	case r.Filesystem && (r.SelfTest == nil || r.SelfTest.OpenRoot == "ok"):
		return errors.New("its filesystem confinement did not hold in its self-test")
	case noNetwork && (r.SelfTest == nil || r.SelfTest.TCP == "ok"):
		return errors.New("it could open a TCP connection in its self-test")
	}
	return nil
}

// parseStatus fills c from the text of /proc/PID/status.
func (c *Confinement) parseStatus(status string) {
	found := 0
	for _, line := range strings.Split(status, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		var capp *CapSet
		switch k {
		case "CapEff":
			capp = &c.CapEff
		case "CapPrm":
			capp = &c.CapPrm
		case "CapInh":
			capp = &c.CapInh
		case "CapBnd":
			capp = &c.CapBnd
		case "CapAmb":
			capp = &c.CapAmb
		case "NoNewPrivs":
			c.NoNewPrivs = v == "1"
			found++
		case "Seccomp":
			c.Seccomp, _ = strconv.Atoi(v)
			found++
		case "Seccomp_filters":
			c.SeccompFilters, _ = strconv.Atoi(v)
		}
		if capp != nil {
			n, err := strconv.ParseUint(v, 16, 64)
			if err != nil {
				c.Errors = append(c.Errors, "status: "+k)
			}
			*capp = CapSet(n)
			found++
		}
	}
	if found < 7 {
		c.Errors = append(c.Errors, "status: fields missing")
	}
}
